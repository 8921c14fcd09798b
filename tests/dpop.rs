//! DPoP (RFC 9449): proofs made here with the test keys (ES256, EdDSA), against routes that
//! require, allow or disable DPoP. The accept path, every check of section 4.3 refused with the
//! right status, challenge and body (the hostile battery), the bearer-downgrade refusals on both
//! pipeline drivers, login binding and refresh with the same key, nonces, and a public URL with
//! a path prefix in front of a nested route.

use crate::support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use jwt_runtime::{jwt_required, DpopProof, Identity, JwtConfig, JwtManager, OptionalDpopProof};
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use poem::web::Json;
use poem::{get, handler, post, EndpointExt, Route};
use serde_json::{json, Value};
use support::*;

const PUBLIC: &str = "https://api.example.com";

/// A client's DPoP key: the private key that signs, the public JWK it sends.
struct Key {
    alg: Algorithm,
    name: &'static str,
    signing: EncodingKey,
    jwk: Value,
}

impl Key {
    fn es256() -> Key {
        let pem = include_bytes!("keys/ec256.pem");
        Key::new(
            Algorithm::ES256,
            "ES256",
            EncodingKey::from_ec_pem(pem).expect("ec key"),
        )
    }

    fn ed25519() -> Key {
        let pem = include_bytes!("keys/ed25519.pem");
        Key::new(
            Algorithm::EdDSA,
            "EdDSA",
            EncodingKey::from_ed_pem(pem).expect("ed key"),
        )
    }

    fn new(alg: Algorithm, name: &'static str, signing: EncodingKey) -> Key {
        let jwk = Jwk::from_encoding_key(&signing, alg).expect("public jwk");
        let mut jwk = serde_json::to_value(jwk).expect("jwk json");
        // Only the key's own members (the library's jwk adds `alg`; harmless, but keep it plain).
        if let Some(map) = jwk.as_object_mut() {
            map.retain(|k, _| matches!(k.as_str(), "kty" | "crv" | "x" | "y" | "n" | "e"));
        }
        Key {
            alg,
            name,
            signing,
            jwk,
        }
    }

    /// A proof for `method` `url` at `iat`, with `claims` changes (a `null` removes a claim) and
    /// `header` changes.
    fn proof_with(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        claims: Value,
        header: Value,
    ) -> String {
        let mut h = json!({"typ": "dpop+jwt", "alg": self.name, "jwk": self.jwk});
        merge(&mut h, header);
        let mut c = json!({"jti": uuid(), "htm": method, "htu": url, "iat": NOW});
        if let Some(token) = token {
            c["ath"] = ath(token).into();
        }
        merge(&mut c, claims);
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(h.to_string()),
            URL_SAFE_NO_PAD.encode(c.to_string())
        );
        let sig =
            jsonwebtoken::crypto::sign(input.as_bytes(), &self.signing, self.alg).expect("sign");
        format!("{input}.{sig}")
    }

    fn proof(&self, method: &str, path: &str, token: Option<&str>) -> String {
        self.proof_with(
            method,
            &format!("{PUBLIC}{path}"),
            token,
            json!({}),
            json!({}),
        )
    }

    fn thumbprint(&self) -> String {
        let jwk = &self.jwk;
        let canonical = match jwk["kty"].as_str() {
            Some("EC") => json!({"crv": jwk["crv"], "kty": "EC", "x": jwk["x"], "y": jwk["y"]}),
            _ => json!({"crv": jwk["crv"], "kty": "OKP", "x": jwk["x"]}),
        };
        URL_SAFE_NO_PAD.encode(sha256(canonical.to_string().as_bytes()))
    }
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}

fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(token.as_bytes()))
}

/// `proof` with its signature's first character changed (still base64url).
fn tamper(proof: &str) -> String {
    let (signed, sig) = proof.rsplit_once('.').expect("a JWS");
    let first = if sig.starts_with('A') { 'B' } else { 'A' };
    format!("{signed}.{first}{}", &sig[1..])
}

fn uuid() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("proof-{}", N.fetch_add(1, Ordering::SeqCst))
}

fn merge(target: &mut Value, changes: Value) {
    for (k, v) in changes.as_object().expect("object").clone() {
        if v.is_null() {
            target.as_object_mut().expect("object").remove(&k);
        } else {
            target[k] = v;
        }
    }
}

#[jwt_required(dpop)]
#[handler]
async fn required(identity: Identity) -> String {
    format!("required:{identity}")
}

#[jwt_required(dpop = "allowed")]
#[handler]
async fn allowed(identity: Identity) -> String {
    format!("allowed:{identity}")
}

#[jwt_required]
#[handler]
async fn disabled(identity: Identity) -> String {
    format!("disabled:{identity}")
}

#[handler]
async fn login(jwt: JwtManager, proof: DpopProof) -> poem::Result<Json<Value>> {
    let access = jwt.create_access_token("alice").bind(&proof).await?;
    let refresh_token = jwt.create_refresh_token("alice").bind(&proof).await?;
    Ok(Json(
        json!({"access_token": access, "refresh_token": refresh_token, "token_type": "DPoP"}),
    ))
}

#[handler]
async fn login_optional(
    jwt: JwtManager,
    OptionalDpopProof(proof): OptionalDpopProof,
) -> poem::Result<Json<Value>> {
    let builder = jwt.create_access_token("alice");
    let access = match &proof {
        Some(proof) => builder.bind(proof).await?,
        None => builder.await?,
    };
    Ok(Json(json!({"access_token": access})))
}

#[jwt_required(refresh, dpop = "allowed")]
#[handler]
async fn refresh(
    identity: Identity,
    jwt: JwtManager,
    proof: DpopProof,
) -> poem::Result<Json<Value>> {
    let access = jwt
        .create_access_token(identity.value())
        .bind(&proof)
        .await?;
    Ok(Json(json!({"access_token": access})))
}

fn app() -> Route {
    Route::new()
        .at("/required", get(required))
        .at("/allowed", get(allowed))
        .at("/disabled", get(disabled))
        .at("/login", post(login))
        .at("/login-optional", post(login_optional))
        .at("/refresh", post(refresh))
        .nest("/v1", Route::new().at("/items", get(required)))
}

fn dpop_config() -> JwtConfig {
    JwtConfig {
        dpop_public_url: Some(PUBLIC.into()),
        ..config()
    }
}

fn client_with(config: JwtConfig) -> TestClient<impl poem::Endpoint> {
    TestClient::new(app().with(manager(config)))
}

fn dpop_client() -> TestClient<impl poem::Endpoint> {
    client_with(dpop_config())
}

/// A token of the test manager's bound to `key`.
async fn bound_token(key: &Key) -> String {
    hs256(claims_with(
        "alice",
        json!({"cnf": {"jkt": key.thumbprint()}}),
    ))
}

fn unbound_token() -> String {
    hs256(claims("alice"))
}

async fn get_with(
    cli: &TestClient<impl poem::Endpoint>,
    path: &str,
    auth: &str,
    proofs: &[&str],
) -> TestResponse {
    let mut req = cli.get(path).header("Authorization", auth);
    for proof in proofs {
        req = req.header("DPoP", *proof);
    }
    req.send().await
}

/// The status, a `WWW-Authenticate: DPoP error="<code>"` challenge with `algs`, and the body.
async fn assert_refused(resp: TestResponse, status: u16, code: &str, msg: &str) {
    resp.assert_status(StatusCode::from_u16(status).unwrap());
    let challenge = resp
        .0
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        challenge.starts_with(&format!("DPoP error=\"{code}\"")),
        "challenge: {challenge}"
    );
    assert!(
        challenge.contains("algs=\"ES256 EdDSA Ed25519 PS256 RS256 ES384\""),
        "{challenge}"
    );
    assert_msg(resp, status, msg).await;
}

#[tokio::test]
async fn a_bound_token_with_its_proof_is_accepted() {
    let cli = dpop_client();
    let key = Key::es256();
    let token = bound_token(&key).await;
    for path in ["/required", "/allowed"] {
        let proof = key.proof("GET", path, Some(&token));
        let resp = get_with(&cli, path, &format!("DPoP {token}"), &[&proof]).await;
        resp.assert_status_is_ok();
        resp.assert_text(format!("{}:alice", &path[1..])).await;
    }
    // EdDSA too.
    let key = Key::ed25519();
    let token = bound_token(&key).await;
    let proof = key.proof("GET", "/required", Some(&token));
    get_with(&cli, "/required", &format!("DPoP {token}"), &[&proof])
        .await
        .assert_status_is_ok();
    // And under its fully specified name (RFC 9864), which panva's `dpop` writes for Ed25519.
    let proof = key.proof_with(
        "GET",
        &format!("{PUBLIC}/required"),
        Some(&token),
        json!({}),
        json!({"alg": "Ed25519"}),
    );
    get_with(&cli, "/required", &format!("DPoP {token}"), &[&proof])
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn the_hostile_battery_is_refused_and_the_server_stays_up() {
    let cli = dpop_client();
    let key = Key::es256();
    let token = bound_token(&key).await;
    let auth = format!("DPoP {token}");
    let url = format!("{PUBLIC}/required");
    let with =
        |claims: Value, header: Value| key.proof_with("GET", &url, Some(&token), claims, header);
    let cases: Vec<(String, &str)> = vec![
        (
            with(json!({"htu": format!("{PUBLIC}/allowed")}), json!({})),
            "Invalid DPoP proof: htu does not match the request URL",
        ),
        (
            with(
                json!({"htu": "https://evil.example.com/required"}),
                json!({}),
            ),
            "Invalid DPoP proof: htu does not match the request URL",
        ),
        (
            with(json!({"htm": "POST"}), json!({})),
            "Invalid DPoP proof: htm does not match the request method",
        ),
        (
            with(json!({"iat": NOW - 61}), json!({})),
            "Invalid DPoP proof: iat is too old",
        ),
        (
            with(json!({"iat": NOW + 6}), json!({})),
            "Invalid DPoP proof: iat is in the future",
        ),
        (
            with(json!({"ath": ath("another.token.value")}), json!({})),
            "Invalid DPoP proof: ath does not match the access token",
        ),
        (
            with(json!({"ath": null}), json!({})),
            "Invalid DPoP proof: ath does not match the access token",
        ),
        (
            with(json!({"jti": null}), json!({})),
            "Invalid DPoP proof: missing claim jti",
        ),
        (
            with(json!({"jti": ""}), json!({})),
            "Invalid DPoP proof: jti is empty or too long",
        ),
        (
            with(json!({}), json!({"typ": "JWT"})),
            "Invalid DPoP proof: typ is not dpop+jwt",
        ),
        (
            with(json!({}), json!({"jwk": null})),
            "Invalid DPoP proof: the header has no jwk",
        ),
        (
            with(json!({}), json!({"crit": ["exp"]})),
            "Invalid DPoP proof: crit is not supported",
        ),
        (
            with(json!({}), json!({"jwk": Key::ed25519().jwk})),
            "Invalid DPoP proof: the jwk does not fit the algorithm ES256",
        ),
        (
            tamper(&with(json!({}), json!({}))),
            "Invalid DPoP proof: bad signature",
        ),
        (
            "not-a-jwt".to_string(),
            "Invalid DPoP proof: not a compact JWS",
        ),
        ("a".repeat(9000), "Invalid DPoP proof: too large"),
    ];
    for (proof, msg) in cases {
        let resp = get_with(&cli, "/required", &auth, &[&proof]).await;
        assert_refused(resp, 401, "invalid_dpop_proof", msg).await;
    }
    // A private key in the jwk (`d` of the EC key, whatever its value).
    let mut private = key.jwk.clone();
    private["d"] = "AAAA".into();
    let proof = with(json!({}), json!({"jwk": private}));
    let resp = get_with(&cli, "/required", &auth, &[&proof]).await;
    assert_refused(
        resp,
        401,
        "invalid_dpop_proof",
        "Invalid DPoP proof: the jwk holds a private key member \"d\"",
    )
    .await;
    // alg none, and an HMAC proof.
    let header = json!({"typ": "dpop+jwt", "alg": "none", "jwk": key.jwk});
    let claims = json!({"jti": uuid(), "htm": "GET", "htu": url, "iat": NOW, "ath": ath(&token)});
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let resp = get_with(&cli, "/required", &auth, &[&none]).await;
    assert_refused(
        resp,
        401,
        "invalid_dpop_proof",
        "Invalid DPoP proof: the alg is not allowed",
    )
    .await;
    let hmac = sign(
        json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": "c2VjcmV0"}}),
        claims,
        SECRET,
    );
    let resp = get_with(&cli, "/required", &auth, &[&hmac]).await;
    assert_refused(
        resp,
        401,
        "invalid_dpop_proof",
        "Invalid DPoP proof: the alg is not allowed",
    )
    .await;
    // Two DPoP headers, and none.
    let (a, b) = (
        key.proof("GET", "/required", Some(&token)),
        key.proof("GET", "/required", Some(&token)),
    );
    let resp = get_with(&cli, "/required", &auth, &[&a, &b]).await;
    assert_refused(
        resp,
        401,
        "invalid_dpop_proof",
        "Invalid DPoP proof: more than one DPoP header",
    )
    .await;
    let resp = get_with(&cli, "/required", &auth, &[]).await;
    assert_refused(
        resp,
        401,
        "invalid_dpop_proof",
        "Invalid DPoP proof: missing DPoP header",
    )
    .await;
    // Still serving.
    let proof = key.proof("GET", "/required", Some(&token));
    get_with(&cli, "/required", &auth, &[&proof])
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn a_proof_is_accepted_once() {
    let cli = dpop_client();
    let key = Key::es256();
    let token = bound_token(&key).await;
    let auth = format!("DPoP {token}");
    let proof = key.proof("GET", "/required", Some(&token));
    get_with(&cli, "/required", &auth, &[&proof])
        .await
        .assert_status_is_ok();
    let resp = get_with(&cli, "/required", &auth, &[&proof]).await;
    assert_refused(
        resp,
        401,
        "invalid_dpop_proof",
        "Invalid DPoP proof: this proof was used before",
    )
    .await;
}

#[tokio::test]
async fn a_refused_request_does_not_use_up_its_proof() {
    // The claims check (step 6) says no the first time: the proof, checked before it, is
    // recorded only once every step passed, so the retry with the same proof is accepted.
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let accept = Arc::new(AtomicBool::new(false));
    let gate = accept.clone();
    let jwt = builder(dpop_config())
        .token_verification_loader(move |_| {
            let ok = gate.load(Ordering::SeqCst);
            async move { ok }
        })
        .build()
        .expect("manager");
    let cli = TestClient::new(app().with(jwt));
    let key = Key::es256();
    let token = bound_token(&key).await;
    let auth = format!("DPoP {token}");
    let proof = key.proof("GET", "/required", Some(&token));
    let resp = get_with(&cli, "/required", &auth, &[&proof]).await;
    assert_msg(resp, 400, "User claims verification failed").await;
    accept.store(true, Ordering::SeqCst);
    get_with(&cli, "/required", &auth, &[&proof])
        .await
        .assert_status_is_ok();
    let resp = get_with(&cli, "/required", &auth, &[&proof]).await;
    assert_refused(
        resp,
        401,
        "invalid_dpop_proof",
        "Invalid DPoP proof: this proof was used before",
    )
    .await;
}

#[tokio::test]
async fn bearer_downgrades_and_wrong_bindings_are_refused() {
    let cli = dpop_client();
    let key = Key::es256();
    let token = bound_token(&key).await;
    let downgrade = "A DPoP-bound token must be sent with the DPoP authorization scheme";
    for path in ["/allowed", "/disabled"] {
        // Twice: the second time the token comes from the verified-token cache (fast path).
        for _ in 0..2 {
            let resp = get_with(&cli, path, &bearer(&token), &[]).await;
            assert_refused(resp, 401, "invalid_token", downgrade).await;
        }
    }
    // An unbound token under DPoP, with a valid proof.
    let plain = unbound_token();
    let proof = key.proof("GET", "/allowed", Some(&plain));
    let resp = get_with(&cli, "/allowed", &format!("DPoP {plain}"), &[&proof]).await;
    assert_refused(
        resp,
        401,
        "invalid_token",
        "The DPoP authorization scheme was used with a token that is not DPoP-bound",
    )
    .await;
    // A proof by another key than the token's.
    let other = Key::ed25519();
    let proof = other.proof("GET", "/required", Some(&token));
    let resp = get_with(&cli, "/required", &format!("DPoP {token}"), &[&proof]).await;
    assert_refused(
        resp,
        401,
        "invalid_token",
        "The token is bound to another key than the DPoP proof's",
    )
    .await;
    // A required route with an unbound bearer token.
    let resp = get_with(&cli, "/required", &bearer(&plain), &[]).await;
    assert_refused(
        resp,
        401,
        "invalid_token",
        "This route requires a DPoP-bound token",
    )
    .await;
    // The allowed route still takes an unbound bearer token; the disabled one ignores DPoP.
    get_with(&cli, "/allowed", &bearer(&plain), &[])
        .await
        .assert_status_is_ok();
    get_with(&cli, "/disabled", &bearer(&plain), &[])
        .await
        .assert_status_is_ok();
    let resp = get_with(&cli, "/disabled", &format!("DPoP {token}"), &[]).await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn login_binds_and_refresh_needs_the_same_key() {
    let cli = dpop_client();
    let key = Key::es256();
    let proof = key.proof("POST", "/login", None);
    let resp = cli.post("/login").header("DPoP", &proof).send().await;
    resp.assert_status_is_ok();
    let body: Value = resp.json().await.value().deserialize();
    let access = body["access_token"].as_str().expect("access").to_string();
    let refresh_token = body["refresh_token"].as_str().expect("refresh").to_string();
    let jwt = manager(dpop_config());
    assert_eq!(
        jwt.decode_token(&access).expect("claims")["cnf"]["jkt"],
        key.thumbprint()
    );
    // The bound access token works with a proof by the key.
    let proof = key.proof("GET", "/required", Some(&access));
    get_with(&cli, "/required", &format!("DPoP {access}"), &[&proof])
        .await
        .assert_status_is_ok();
    // The same login proof again is a replay.
    let resp = cli
        .post("/login")
        .header(
            "DPoP",
            key.proof_with(
                "POST",
                &format!("{PUBLIC}/login"),
                None,
                json!({"jti": "once"}),
                json!({}),
            ),
        )
        .send()
        .await;
    resp.assert_status_is_ok();
    let resp = cli
        .post("/login")
        .header(
            "DPoP",
            key.proof_with(
                "POST",
                &format!("{PUBLIC}/login"),
                None,
                json!({"jti": "once"}),
                json!({}),
            ),
        )
        .send()
        .await;
    assert_refused(
        resp,
        401,
        "invalid_dpop_proof",
        "Invalid DPoP proof: this proof was used before",
    )
    .await;
    // Refresh with the same key: a new bound access token.
    let proof = key.proof("POST", "/refresh", Some(&refresh_token));
    let resp = cli
        .post("/refresh")
        .header("Authorization", format!("DPoP {refresh_token}"))
        .header("DPoP", &proof)
        .send()
        .await;
    resp.assert_status_is_ok();
    // With another key: refused.
    let other = Key::ed25519();
    let proof = other.proof("POST", "/refresh", Some(&refresh_token));
    let resp = cli
        .post("/refresh")
        .header("Authorization", format!("DPoP {refresh_token}"))
        .header("DPoP", &proof)
        .send()
        .await;
    assert_refused(
        resp,
        401,
        "invalid_token",
        "The token is bound to another key than the DPoP proof's",
    )
    .await;
    // A login without a proof: `DpopProof` refuses, `OptionalDpopProof` issues an unbound token.
    let resp = cli.post("/login").send().await;
    assert_refused(
        resp,
        401,
        "invalid_dpop_proof",
        "Invalid DPoP proof: missing DPoP header",
    )
    .await;
    let resp = cli.post("/login-optional").send().await;
    resp.assert_status_is_ok();
    let body: Value = resp.json().await.value().deserialize();
    let access = body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        payload(&access).get("cnf").is_none(),
        "unbound without a proof"
    );
    // A proof that is sent but fails is refused there too: never an unbound token in its place.
    let bad = tamper(&key.proof("POST", "/login-optional", None));
    let resp = cli
        .post("/login-optional")
        .header("DPoP", &bad)
        .send()
        .await;
    assert_refused(
        resp,
        401,
        "invalid_dpop_proof",
        "Invalid DPoP proof: bad signature",
    )
    .await;
    // And a good one binds.
    let good = key.proof("POST", "/login-optional", None);
    let resp = cli
        .post("/login-optional")
        .header("DPoP", &good)
        .send()
        .await;
    resp.assert_status_is_ok();
    let body: Value = resp.json().await.value().deserialize();
    let access = body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(payload(&access)["cnf"]["jkt"], key.thumbprint());
}

/// The claims of an encoded token (unverified: the test's own).
fn payload(token: &str) -> Value {
    let segment = token.split('.').nth(1).unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD.decode(segment).unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or_default()
}

#[tokio::test]
async fn nonces_are_required_when_configured() {
    let config = JwtConfig {
        dpop_nonce: true,
        ..dpop_config()
    };
    let cli = client_with(config);
    let key = Key::es256();
    let token = bound_token(&key).await;
    let auth = format!("DPoP {token}");
    // No nonce: 401 use_dpop_nonce with a fresh nonce; the proof is not recorded.
    let proof = key.proof("GET", "/required", Some(&token));
    let resp = get_with(&cli, "/required", &auth, &[&proof]).await;
    let nonce = resp
        .0
        .headers()
        .get("dpop-nonce")
        .and_then(|v| v.to_str().ok())
        .expect("DPoP-Nonce")
        .to_string();
    assert_refused(
        resp,
        401,
        "use_dpop_nonce",
        "DPoP proof requires a valid nonce: retry with the DPoP-Nonce given",
    )
    .await;
    // With it: accepted.
    let proof = key.proof_with(
        "GET",
        &format!("{PUBLIC}/required"),
        Some(&token),
        json!({"nonce": nonce}),
        json!({}),
    );
    get_with(&cli, "/required", &auth, &[&proof])
        .await
        .assert_status_is_ok();
    // A forged or foreign nonce: challenged again.
    let proof = key.proof_with(
        "GET",
        &format!("{PUBLIC}/required"),
        Some(&token),
        json!({"nonce": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
        json!({}),
    );
    let resp = get_with(&cli, "/required", &auth, &[&proof]).await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    // At the token endpoint: 400.
    let proof = key.proof("POST", "/login", None);
    let resp = cli.post("/login").header("DPoP", &proof).send().await;
    assert!(resp.0.headers().contains_key("dpop-nonce"));
    assert_refused(
        resp,
        400,
        "use_dpop_nonce",
        "DPoP proof requires a valid nonce: retry with the DPoP-Nonce given",
    )
    .await;
}

#[tokio::test]
async fn an_expired_nonce_is_challenged_again() {
    let config = JwtConfig {
        dpop_nonce: true,
        dpop_nonce_lifetime: 300,
        ..dpop_config()
    };
    let (jwt, clock) = manager_with_clock(config);
    let cli = TestClient::new(app().with(jwt));
    let key = Key::es256();
    let token = bound_token(&key).await;
    let auth = format!("DPoP {token}");
    let resp = get_with(
        &cli,
        "/required",
        &auth,
        &[&key.proof("GET", "/required", Some(&token))],
    )
    .await;
    let nonce = resp
        .0
        .headers()
        .get("dpop-nonce")
        .and_then(|v| v.to_str().ok())
        .expect("nonce")
        .to_string();
    // Past half its lifetime the nonce still works, and the response brings the next one.
    clock.set(NOW + 200);
    let proof = key.proof_with(
        "GET",
        &format!("{PUBLIC}/required"),
        Some(&token),
        json!({"nonce": nonce, "iat": NOW + 200}),
        json!({}),
    );
    let resp = get_with(&cli, "/required", &auth, &[&proof]).await;
    resp.assert_status_is_ok();
    let next = resp
        .0
        .headers()
        .get("dpop-nonce")
        .and_then(|v| v.to_str().ok());
    assert!(next.is_some_and(|next| next != nonce), "a renewed nonce");
    clock.set(NOW + 301);
    let proof = key.proof_with(
        "GET",
        &format!("{PUBLIC}/required"),
        Some(&token),
        json!({"nonce": nonce, "iat": NOW + 301}),
        json!({}),
    );
    let resp = get_with(&cli, "/required", &auth, &[&proof]).await;
    assert_refused(
        resp,
        401,
        "use_dpop_nonce",
        "DPoP proof requires a valid nonce: retry with the DPoP-Nonce given",
    )
    .await;
}

#[tokio::test]
async fn behind_a_proxy_the_public_url_with_its_prefix_is_compared() {
    let config = JwtConfig {
        dpop_public_url: Some("HTTPS://API.example.com:443/prefix/".into()),
        ..config()
    };
    let cli = client_with(config);
    let key = Key::es256();
    let token = bound_token(&key).await;
    let auth = format!("DPoP {token}");
    let good = key.proof_with(
        "GET",
        "https://api.example.com/prefix/v1/items",
        Some(&token),
        json!({}),
        json!({}),
    );
    get_with(&cli, "/v1/items?page=2", &auth, &[&good])
        .await
        .assert_status_is_ok();
    // What the server itself sees (no prefix, or no nested path) is not the public URL.
    for htu in [
        "https://api.example.com/v1/items",
        "https://api.example.com/prefix/items",
        "http://localhost/v1/items",
    ] {
        let proof = key.proof_with("GET", htu, Some(&token), json!({}), json!({}));
        let resp = get_with(&cli, "/v1/items", &auth, &[&proof]).await;
        assert_refused(
            resp,
            401,
            "invalid_dpop_proof",
            "Invalid DPoP proof: htu does not match the request URL",
        )
        .await;
    }
}

#[tokio::test]
async fn without_a_public_url_only_loopback_hosts_are_compared() {
    let cli = client_with(config());
    let key = Key::es256();
    let token = bound_token(&key).await;
    let auth = format!("DPoP {token}");
    let proof = key.proof_with(
        "GET",
        "http://localhost:3000/required",
        Some(&token),
        json!({}),
        json!({}),
    );
    let resp = cli
        .get("/required")
        .header("Host", "localhost:3000")
        .header("Authorization", &auth)
        .header("DPoP", &proof)
        .send()
        .await;
    resp.assert_status_is_ok();
    let proof = key.proof_with(
        "GET",
        "http://api.example.com/required",
        Some(&token),
        json!({}),
        json!({}),
    );
    let resp = cli
        .get("/required")
        .header("Host", "api.example.com")
        .header("Authorization", &auth)
        .header("DPoP", &proof)
        .send()
        .await;
    assert_refused(
        resp,
        401,
        "invalid_dpop_proof",
        "Invalid DPoP proof: the server has no public URL to compare htu with",
    )
    .await;
}

#[test]
fn bad_dpop_options_fail_at_startup_naming_the_option() {
    let error = |config: JwtConfig| JwtManager::new(config).expect_err("refused").to_string();
    let bad = |change: fn(&mut JwtConfig)| {
        let mut c = dpop_config();
        change(&mut c);
        error(c)
    };
    assert!(bad(|c| c.dpop_algorithms = vec!["HS256".into()]).contains("JWT_DPOP_ALGORITHMS"));
    assert!(bad(|c| c.dpop_algorithms = vec!["none".into()]).contains("JWT_DPOP_ALGORITHMS"));
    assert!(
        bad(|c| c.dpop_public_url = Some("api.example.com".into())).contains("JWT_DPOP_PUBLIC_URL")
    );
    assert!(
        bad(|c| c.dpop_public_url = Some("https://a.example/?x=1".into()))
            .contains("JWT_DPOP_PUBLIC_URL")
    );
    assert!(bad(|c| c.dpop_proof_max_age = 0).contains("JWT_DPOP_PROOF_MAX_AGE"));
    assert!(bad(|c| {
        c.dpop_nonce = true;
        c.dpop_nonce_secret = Some("short".into());
    })
    .contains("JWT_DPOP_NONCE_SECRET"));
    let from_env = JwtConfig::from_lookup(|name| match name {
        "JWT_DPOP" => Some("sometimes".into()),
        _ => None,
    });
    assert!(from_env
        .expect_err("bad mode")
        .to_string()
        .contains("JWT_DPOP"));
}

#[test]
fn dpop_on_a_store_without_replay_records_fails_at_startup() {
    use jwt_runtime::stores::{BlocklistError, TokenInfo};
    struct NoProofs;
    impl jwt_runtime::stores::Blocklist for NoProofs {
        async fn is_revoked(
            &self,
            _: &jwt_runtime::stores::TokenInfo,
        ) -> Result<bool, jwt_runtime::stores::BlocklistError> {
            Ok(false)
        }
        async fn revoke(&self, _: &TokenInfo) -> Result<(), BlocklistError> {
            Ok(())
        }
        async fn revoke_user(&self, _: &str, _: i64) -> Result<(), BlocklistError> {
            Ok(())
        }
    }
    let config = JwtConfig {
        dpop: jwt_runtime::DpopMode::Required,
        ..dpop_config()
    };
    let error = JwtManager::builder(config)
        .blocklist(NoProofs)
        .build()
        .expect_err("refused");
    assert!(error.to_string().contains("JWT_DPOP"), "{error}");
    assert!(error.to_string().contains("keeps_proofs"), "{error}");
}

#[handler]
async fn rotating_login(jwt: JwtManager, proof: DpopProof) -> poem::Result<Json<Value>> {
    let tokens = jwt.login("alice").bind(&proof).await?;
    Ok(Json(
        json!({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}),
    ))
}

#[jwt_required(refresh, dpop)]
#[handler]
async fn rotating_refresh(
    identity: Identity,
    rotated: jwt_runtime::RotatedRefreshToken,
    jwt: JwtManager,
    proof: DpopProof,
) -> poem::Result<Json<Value>> {
    let access = jwt
        .create_access_token(identity.value())
        .bind(&proof)
        .await?;
    Ok(Json(
        json!({"access_token": access, "refresh_token": rotated.token()}),
    ))
}

#[tokio::test]
async fn a_rotated_refresh_token_stays_bound_to_the_key() {
    let config = JwtConfig {
        refresh_rotation: true,
        ..dpop_config()
    };
    let jwt = manager(config);
    let app = Route::new()
        .at("/login", post(rotating_login))
        .at("/refresh", post(rotating_refresh));
    let cli = TestClient::new(app.with(jwt.clone()));
    let key = Key::ed25519();
    let resp = cli
        .post("/login")
        .header("DPoP", key.proof("POST", "/login", None))
        .send()
        .await;
    resp.assert_status_is_ok();
    let body: Value = resp.json().await.value().deserialize();
    let refresh_token = body["refresh_token"].as_str().expect("refresh").to_string();
    assert_eq!(
        jwt.decode_token(&refresh_token).expect("claims")["cnf"]["jkt"],
        key.thumbprint()
    );
    let resp = cli
        .post("/refresh")
        .header("Authorization", format!("DPoP {refresh_token}"))
        .header("DPoP", key.proof("POST", "/refresh", Some(&refresh_token)))
        .send()
        .await;
    resp.assert_status_is_ok();
    let body: Value = resp.json().await.value().deserialize();
    let rotated = body["refresh_token"].as_str().expect("rotated").to_string();
    assert_ne!(rotated, refresh_token);
    assert_eq!(
        jwt.decode_token(&rotated).expect("claims")["cnf"]["jkt"],
        key.thumbprint()
    );
    // The rotated one, as Bearer: refused; with another key's proof: refused.
    let resp = cli
        .post("/refresh")
        .header("Authorization", bearer(&rotated))
        .send()
        .await;
    resp.assert_status(StatusCode::UNAUTHORIZED);
    let other = Key::es256();
    let resp = cli
        .post("/refresh")
        .header("Authorization", format!("DPoP {rotated}"))
        .header("DPoP", other.proof("POST", "/refresh", Some(&rotated)))
        .send()
        .await;
    assert_refused(
        resp,
        401,
        "invalid_token",
        "The token is bound to another key than the DPoP proof's",
    )
    .await;
}

#[tokio::test]
async fn a_cnf_claim_without_jkt_is_refused_everywhere() {
    let cli = dpop_client();
    let token = hs256(claims_with("alice", json!({"cnf": {"x5t#S256": "abc"}})));
    for path in ["/allowed", "/disabled"] {
        let resp = get_with(&cli, path, &bearer(&token), &[]).await;
        assert_refused(
            resp,
            401,
            "invalid_token",
            "The token's cnf claim names no DPoP key (jkt) this server can check",
        )
        .await;
    }
}

#[tokio::test]
async fn a_replay_store_that_cannot_answer_refuses_with_503() {
    use jwt_runtime::stores::{Blocklist, BlocklistError, ProofRecord, TokenInfo};
    struct Down;
    impl Blocklist for Down {
        async fn is_revoked(&self, _: &TokenInfo) -> Result<bool, BlocklistError> {
            Ok(false)
        }
        async fn revoke(&self, _: &TokenInfo) -> Result<(), BlocklistError> {
            Ok(())
        }
        async fn revoke_user(&self, _: &str, _: i64) -> Result<(), BlocklistError> {
            Ok(())
        }
        fn keeps_proofs(&self) -> bool {
            true
        }
        async fn record_proof(&self, _: &ProofRecord) -> Result<bool, BlocklistError> {
            Err(BlocklistError::new("connection refused"))
        }
    }
    let config = JwtConfig {
        allow_tokens_without_jti: true,
        ..dpop_config()
    };
    let jwt = builder(config).blocklist(Down).build().expect("manager");
    let cli = TestClient::new(app().with(jwt));
    let key = Key::es256();
    let token = bound_token(&key).await;
    let proof = key.proof("GET", "/required", Some(&token));
    let resp = get_with(&cli, "/required", &format!("DPoP {token}"), &[&proof]).await;
    assert_msg(resp, 503, "Token revocation store unavailable").await;
    // At a login too.
    let resp = cli
        .post("/login")
        .header("DPoP", key.proof("POST", "/login", None))
        .send()
        .await;
    assert_msg(resp, 503, "Token revocation store unavailable").await;
}
