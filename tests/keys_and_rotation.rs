//! Every key type, the reference's key-selection rules and messages, weak keys, rotation by
//! `kid`, the JWKS endpoint, and the encode/decode key loaders.

use crate::support;

use jwt_runtime::keys::{DecodeKeyConfig, DecodingKey, EncodingKey};
use jwt_runtime::{jwt_required, Identity, JwtConfig, JwtManager};
use poem::{get, handler, EndpointExt, Route};
use serde_json::{json, Value};
use support::*;

fn key(name: &str) -> String {
    std::fs::read_to_string(format!("{}/keys/{name}", env!("CARGO_MANIFEST_DIR")))
        .expect("test key")
}

fn asymmetric(alg: &str, private: &str, public: &str) -> JwtConfig {
    JwtConfig {
        algorithm: alg.into(),
        private_key: Some(key(private)),
        public_key: Some(key(public)),
        ..JwtConfig::default()
    }
}

#[jwt_required]
#[handler]
async fn protected(identity: Identity) -> String {
    identity.to_string()
}

fn app() -> Route {
    Route::new().at("/protected", get(protected))
}

async fn accepted(verifier: &JwtManager, token: &str) -> poem::test::TestResponse {
    let cli = poem::test::TestClient::new(app().with(verifier.clone()));
    cli.get("/protected")
        .header("Authorization", bearer(token))
        .send()
        .await
}

fn header_of(token: &str) -> Value {
    use base64::Engine as _;
    let h = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    serde_json::from_slice(&h).unwrap()
}

#[tokio::test]
async fn every_algorithm_round_trips() {
    let mut configs: Vec<(String, JwtConfig)> = Vec::new();
    for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] {
        configs.push((alg.into(), asymmetric(alg, "rsa_a.pem", "rsa_a.pub.pem")));
    }
    configs.push((
        "ES256".into(),
        asymmetric("ES256", "ec256.pem", "ec256.pub.pem"),
    ));
    configs.push((
        "ES384".into(),
        asymmetric("ES384", "ec384.pem", "ec384.pub.pem"),
    ));
    configs.push((
        "EdDSA".into(),
        asymmetric("EdDSA", "ed25519.pem", "ed25519.pub.pem"),
    ));
    for (alg, bytes) in [("HS256", 32), ("HS384", 48), ("HS512", 64)] {
        configs.push((
            alg.into(),
            JwtConfig {
                algorithm: alg.into(),
                ..JwtConfig::default().with_secret("s".repeat(bytes))
            },
        ));
    }
    for (alg, config) in configs {
        let jwt = manager(config);
        let token = jwt
            .create_access_token("alice")
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(header_of(&token)["alg"], alg.as_str());
        accepted(&jwt, &token).await.assert_text("alice").await;
    }
}

#[tokio::test]
async fn key_selection_rules_and_messages() {
    let err = |c: JwtConfig| JwtManager::new(c).unwrap_err().to_string();
    let none = JwtConfig {
        algorithm: "RS256".into(),
        ..JwtConfig::default()
    };
    assert_eq!(
        err(none),
        "JWT_PRIVATE_KEY must be set to use asymmetric cryptography algorithm \"RS256\""
    );
    let private_only = JwtConfig {
        public_key: None,
        ..asymmetric("RS256", "rsa_a.pem", "rsa_a.pub.pem")
    };
    assert_eq!(
        err(private_only),
        "JWT_PUBLIC_KEY must be set to use asymmetric cryptography algorithm \"RS256\""
    );
    // The secret is never used for asymmetric algorithms.
    let secret_only = JwtConfig {
        algorithm: "ES256".into(),
        ..config()
    };
    assert!(err(secret_only).starts_with("JWT_PRIVATE_KEY must be set"));
    // Public key only: a verify-only service; creating tokens says why it cannot.
    let verify_only = manager(JwtConfig {
        private_key: None,
        ..asymmetric("RS256", "rsa_a.pem", "rsa_a.pub.pem")
    });
    assert_eq!(
        verify_only
            .create_access_token("a")
            .await
            .unwrap_err()
            .to_string(),
        "JWT_PRIVATE_KEY must be set to use asymmetric cryptography algorithm \"RS256\""
    );
    let signer = manager(asymmetric("RS256", "rsa_a.pem", "rsa_a.pub.pem"));
    accepted(
        &verify_only,
        &signer.create_access_token("alice").await.unwrap(),
    )
    .await
    .assert_text("alice")
    .await;

    // An HS256 token after switching to RS256, and HS256 keyed with the public key's PEM text.
    let hs = hs256(claims("alice"));
    assert_msg(
        accepted(&signer, &hs).await,
        422,
        "The specified alg value is not allowed",
    )
    .await;
    let confused = sign(
        json!({"alg": "HS256", "typ": "JWT"}),
        claims("alice"),
        &key("rsa_a.pub.pem"),
    );
    assert_msg(
        accepted(&signer, &confused).await,
        422,
        "The specified alg value is not allowed",
    )
    .await;
    // Another RSA key with the same algorithm: bad signature.
    let other = manager(asymmetric("RS256", "rsa_b.pem", "rsa_b.pub.pem"))
        .create_access_token("alice")
        .await
        .unwrap();
    assert_msg(
        accepted(&signer, &other).await,
        422,
        "Signature verification failed",
    )
    .await;
    // Same family, other algorithm: pinned, so refused.
    let ps = manager(asymmetric("PS256", "rsa_a.pem", "rsa_a.pub.pem"))
        .create_access_token("alice")
        .await
        .unwrap();
    assert_msg(
        accepted(&signer, &ps).await,
        422,
        "The specified alg value is not allowed",
    )
    .await;
}

#[test]
fn weak_keys_are_refused() {
    let err = |c: JwtConfig| JwtManager::new(c).unwrap_err().to_string();
    assert_eq!(
        err(asymmetric("RS256", "rsa_weak.pem", "rsa_a.pub.pem")),
        "JWT_PRIVATE_KEY: RSA keys shorter than 2048 bits are refused"
    );
    assert_eq!(
        err(asymmetric("RS256", "rsa_a.pem", "rsa_weak.pub.pem")),
        "JWT_PUBLIC_KEY: RSA keys shorter than 2048 bits are refused (1024 bits)"
    );
    assert!(err(asymmetric("ES256", "ec256.pem", "ec384.pub.pem"))
        .contains("\"ES256\" needs a P256 key"));
    assert!(err(asymmetric("ES256", "ed25519.pem", "ed25519.pub.pem"))
        .contains("is not a valid key for \"ES256\""));
    assert!(err(asymmetric("ES256", "rsa_a.pem", "rsa_a.pub.pem"))
        .contains("is not a valid key for \"ES256\""));
}

fn rotation_verifier() -> JwtManager {
    manager(JwtConfig {
        algorithm: "RS256".into(),
        decode_keys: vec![
            DecodeKeyConfig {
                kid: "a".into(),
                algorithm: "RS256".into(),
                public_key: Some(key("rsa_a.pub.pem")),
                secret: None,
            },
            DecodeKeyConfig {
                kid: "b".into(),
                algorithm: "RS256".into(),
                public_key: Some(key("rsa_b.pub.pem")),
                secret: None,
            },
        ],
        ..JwtConfig::default()
    })
}

fn signer(private: &str, kid: Option<&str>) -> JwtManager {
    manager(JwtConfig {
        encode_kid: kid.map(String::from),
        ..asymmetric("RS256", private, &private.replace(".pem", ".pub.pem"))
    })
}

#[tokio::test]
async fn rotation_selects_keys_by_kid_only() {
    let verifier = rotation_verifier();
    let a = signer("rsa_a.pem", Some("a"))
        .create_access_token("alice")
        .await
        .unwrap();
    assert_eq!(
        header_of(&a)["kid"],
        "a",
        "the encoding kid is written into new tokens"
    );
    accepted(&verifier, &a).await.assert_text("alice").await;
    let b = signer("rsa_b.pem", Some("b"))
        .create_access_token("bob")
        .await
        .unwrap();
    accepted(&verifier, &b).await.assert_text("bob").await;
    let c = signer("rsa_b.pem", Some("c"))
        .create_access_token("carol")
        .await
        .unwrap();
    assert_msg(
        accepted(&verifier, &c).await,
        422,
        "Unable to find a signing key that matches: \"c\"",
    )
    .await;
    let lying = signer("rsa_b.pem", Some("a"))
        .create_access_token("mallory")
        .await
        .unwrap();
    assert_msg(
        accepted(&verifier, &lying).await,
        422,
        "Signature verification failed",
    )
    .await;
    let no_kid = signer("rsa_a.pem", None)
        .create_access_token("alice")
        .await
        .unwrap();
    assert_msg(
        accepted(&verifier, &no_kid).await,
        422,
        "The token has no \"kid\" header to select its key",
    )
    .await;
    // A kid naming a key of another algorithm is refused as a bad alg, never tried.
    let mut cfg = config();
    cfg.decode_keys = vec![DecodeKeyConfig {
        kid: "old".into(),
        algorithm: "HS512".into(),
        public_key: None,
        secret: Some("o".repeat(64)),
    }];
    let hmac_verifier = manager(cfg);
    let mislabelled = sign(
        json!({"alg": "HS256", "kid": "old"}),
        claims("alice"),
        SECRET,
    );
    assert_msg(
        accepted(&hmac_verifier, &mislabelled).await,
        422,
        "The specified alg value is not allowed",
    )
    .await;
    let old = sign(
        json!({"alg": "HS512", "kid": "old"}),
        claims("alice"),
        &"o".repeat(64),
    );
    accepted(&hmac_verifier, &old)
        .await
        .assert_text("alice")
        .await;
    // Tokens without kid still use the default secret.
    accepted(&hmac_verifier, &hs256(claims("alice")))
        .await
        .assert_text("alice")
        .await;
    let dup = JwtConfig {
        decode_keys: vec![
            DecodeKeyConfig {
                kid: "x".into(),
                algorithm: "HS256".into(),
                public_key: None,
                secret: Some("x".repeat(32)),
            },
            DecodeKeyConfig {
                kid: "x".into(),
                algorithm: "HS256".into(),
                public_key: None,
                secret: Some("y".repeat(32)),
            },
        ],
        ..config()
    };
    assert_eq!(
        JwtManager::new(dup).unwrap_err().to_string(),
        "the decoding key id \"x\" is used twice"
    );
}

#[tokio::test]
async fn jwks_endpoint_lets_another_service_verify() {
    let issuer = manager(JwtConfig {
        encode_kid: Some("a".into()),
        decode_keys: vec![DecodeKeyConfig {
            kid: "b".into(),
            algorithm: "RS256".into(),
            public_key: Some(key("rsa_b.pub.pem")),
            secret: None,
        }],
        ..asymmetric("RS256", "rsa_a.pem", "rsa_a.pub.pem")
    });
    let cli = poem::test::TestClient::new(
        Route::new().at("/.well-known/jwks.json", issuer.jwks_endpoint()),
    );
    let resp = cli.get("/.well-known/jwks.json").send().await;
    resp.assert_status_is_ok();
    resp.assert_content_type("application/json");
    let jwks: Value = resp.json().await.value().deserialize();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["a", "b"]);
    for k in jwks["keys"].as_array().unwrap() {
        assert_eq!(k["kty"], "RSA");
        assert_eq!(k["use"], "sig");
        assert!(
            k.get("d").is_none() && k.get("p").is_none(),
            "public keys only"
        );
    }
    // A second service configured only from that JWKS accepts the issuer's tokens.
    let verifier = manager(JwtConfig {
        algorithm: "RS256".into(),
        decode_jwks: Some(jwks.to_string()),
        ..JwtConfig::default()
    });
    let token = issuer.create_access_token("alice").await.unwrap();
    accepted(&verifier, &token).await.assert_text("alice").await;
    let stranger = signer("rsa_b.pem", Some("z"))
        .create_access_token("x")
        .await
        .unwrap();
    assert_msg(
        accepted(&verifier, &stranger).await,
        422,
        "Unable to find a signing key that matches: \"z\"",
    )
    .await;
    // HMAC secrets are never published.
    assert!(manager(config()).jwks().keys.is_empty());
    let with_secret = JwtConfig {
        decode_jwks: Some(
            json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s", "alg": "HS256"}]})
                .to_string(),
        ),
        ..config()
    };
    assert_eq!(
        JwtManager::new(with_secret).unwrap_err().to_string(),
        "JWT_DECODE_JWKS[s]: symmetric keys are not accepted from a JWK set"
    );
}

#[tokio::test]
async fn encode_and_decode_key_loaders() {
    let tenant_secret = |tenant: &str| format!("{tenant}-secret-0123456789abcdef0123456789");
    let jwt = builder(config())
        .encode_key_loader(move |identity: &Value| {
            let tenant = identity.as_str()?.split('@').nth(1)?.to_string();
            Some(EncodingKey::from_secret(tenant_secret(&tenant).as_bytes()))
        })
        .decode_key_loader(
            move |_header: jwt_runtime::JsonObject, payload: jwt_runtime::JsonObject| async move {
                let sub = payload.get("sub")?.as_str()?.to_string();
                let tenant = sub.split('@').nth(1)?.to_string();
                Some(DecodingKey::from_secret(
                    format!("{tenant}-secret-0123456789abcdef0123456789").as_bytes(),
                ))
            },
        )
        .build()
        .unwrap();
    let acme = jwt.create_access_token("alice@acme").await.unwrap();
    accepted(&jwt, &acme).await.assert_text("alice@acme").await;
    // Signed with the default secret but claiming a tenant: the tenant's key is used, so it fails.
    let forged = hs256(claims("mallory@acme"));
    assert_msg(
        accepted(&jwt, &forged).await,
        422,
        "Signature verification failed",
    )
    .await;
    // No tenant: the loaders decline and the configured secret applies.
    let plain = jwt.create_access_token("bob").await.unwrap();
    accepted(&jwt, &plain).await.assert_text("bob").await;
    // The alg allow-list still applies to loaded keys.
    let hs512 = sign(
        json!({"alg": "HS512"}),
        claims("eve@acme"),
        &tenant_secret("acme"),
    );
    assert_msg(
        accepted(&jwt, &hs512).await,
        422,
        "The specified alg value is not allowed",
    )
    .await;
}
