//! Keys from an identity provider (feature `remote-jwks`): a local Poem server plays the provider,
//! serving a JWK set it can change, take down, or answer badly, and an OIDC discovery document,
//! with request counters. Startup fetch and its errors, rotation picked up by the unknown-`kid`
//! refetch, the background refresh, a provider that is down, a flood of random kids (bounded
//! refetches), the https-only rule, the size cap, private keys skipped, discovery.

use crate::support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jwt_runtime::keys::TrustedIssuer;
use jwt_runtime::{jwt_required, Identity, JwtConfig, JwtManager};
use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::web::Data;
use poem::{get, handler, EndpointExt, IntoResponse, Response, Route, Server};
use serde_json::{json, Value};
use support::*;

fn key(name: &str) -> String {
    std::fs::read_to_string(format!("{}/keys/{name}", env!("CARGO_MANIFEST_DIR")))
        .expect("test key")
}

/// What the provider serves, and how often it was asked.
#[derive(Default)]
struct State {
    jwks: Mutex<Value>,
    discovery: Mutex<Value>,
    cache_control: Mutex<Option<String>>,
    down: AtomicBool,
    jwks_hits: AtomicUsize,
    discovery_hits: AtomicUsize,
}

#[derive(Clone)]
struct Provider {
    state: Arc<State>,
    /// `http://127.0.0.1:<port>`.
    base: String,
}

impl Provider {
    fn set_keys(&self, keys: Vec<Value>) {
        *self.state.jwks.lock().unwrap() = json!({ "keys": keys });
    }

    fn set_raw(&self, doc: Value) {
        *self.state.jwks.lock().unwrap() = doc;
    }

    fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    fn hits(&self) -> usize {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    fn jwks_url(&self) -> String {
        format!("{}/jwks.json", self.base)
    }

    /// Waits (polling, at most 10 s) until the JWK set was fetched at least `n` times.
    async fn wait_for_hits(&self, n: usize) {
        let start = Instant::now();
        while self.hits() < n {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the JWK set was fetched {} times, expected {n}",
                self.hits()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[handler]
fn serve_jwks(Data(state): Data<&Arc<State>>) -> Response {
    state.jwks_hits.fetch_add(1, Ordering::SeqCst);
    if state.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let body = state.jwks.lock().unwrap().to_string();
    let mut response = Response::builder().content_type("application/json");
    if let Some(cc) = state.cache_control.lock().unwrap().clone() {
        response = response.header("Cache-Control", cc);
    }
    response.body(body)
}

#[handler]
fn serve_discovery(Data(state): Data<&Arc<State>>) -> Response {
    state.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let body = state.discovery.lock().unwrap().to_string();
    Response::builder()
        .content_type("application/json")
        .body(body)
}

/// Starts a provider on a free loopback port; it lives as long as the test's runtime.
async fn provider() -> Provider {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = Arc::new(State::default());
    *state.discovery.lock().unwrap() =
        json!({ "issuer": base, "jwks_uri": format!("{base}/jwks.json") });
    let app = Route::new()
        .at("/jwks.json", get(serve_jwks))
        .at("/.well-known/openid-configuration", get(serve_discovery))
        .data(state.clone());
    let acceptor = TcpAcceptor::from_tokio(listener).unwrap();
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    Provider { state, base }
}

/// A service of the provider that signs with `private` (RS256 unless ES256 for EC keys) and
/// writes `kid` into its tokens.
fn signer(private: &str, kid: &str, issuer: Option<&str>) -> JwtManager {
    manager(signer_config(private, kid, issuer))
}

fn signer_config(private: &str, kid: &str, issuer: Option<&str>) -> JwtConfig {
    let alg = if private.starts_with("ec") {
        "ES256"
    } else {
        "RS256"
    };
    JwtConfig {
        algorithm: alg.into(),
        private_key: Some(key(private)),
        public_key: Some(key(&private.replace(".pem", ".pub.pem"))),
        encode_kid: Some(kid.into()),
        encode_issuer: issuer.map(String::from),
        // Issued to this API (the verifiers' `JWT_DECODE_AUDIENCE`).
        encode_audience: Some(vec![API.into()]),
        ..JwtConfig::default()
    }
}

/// The audience the verifiers require: this API's client id at the provider.
const API: &str = "api";

/// The public JWK the provider publishes for `private` under `kid`.
fn jwk(private: &str, kid: &str) -> Value {
    let set = signer(private, kid, None).jwks();
    serde_json::to_value(&set.keys[0]).unwrap()
}

async fn token(private: &str, kid: &str) -> String {
    signer(private, kid, None)
        .create_access_token("alice")
        .await
        .unwrap()
}

/// A verify-only service trusting the provider's JWK set by URL, for tokens issued to it.
fn remote_config(provider: &Provider) -> JwtConfig {
    JwtConfig {
        algorithm: "RS256".into(),
        decode_jwks_url: Some(provider.jwks_url()),
        decode_audience: Some(vec![API.into()]),
        jwks_allow_http: true,
        ..JwtConfig::default()
    }
}

async fn verifier(config: JwtConfig) -> JwtManager {
    builder(config)
        .build_async()
        .await
        .expect("the verifier starts")
}

async fn startup_error(config: JwtConfig) -> String {
    builder(config)
        .build_async()
        .await
        .expect_err("the verifier must not start")
        .to_string()
}

#[jwt_required]
#[handler]
async fn protected(identity: Identity) -> String {
    identity.to_string()
}

async fn call(verifier: &JwtManager, token: &str) -> poem::test::TestResponse {
    let app = Route::new()
        .at("/protected", get(protected))
        .with(verifier.clone());
    poem::test::TestClient::new(app)
        .get("/protected")
        .header("Authorization", bearer(token))
        .send()
        .await
}

async fn assert_accepted(verifier: &JwtManager, token: &str) {
    call(verifier, token).await.assert_text("alice").await;
}

async fn assert_unknown_kid(verifier: &JwtManager, token: &str, kid: &str) {
    assert_msg(
        call(verifier, token).await,
        422,
        &format!("Unable to find a signing key that matches: \"{kid}\""),
    )
    .await;
}

#[tokio::test]
async fn rotation_is_picked_up_by_the_unknown_kid_refetch() {
    let provider = provider().await;
    provider.set_keys(vec![jwk("rsa_a.pem", "a")]);
    let verifier = verifier(JwtConfig {
        jwks_refetch_interval: 0,
        ..remote_config(&provider)
    })
    .await;
    assert_eq!(provider.hits(), 1, "fetched once at startup");
    let (a, b) = (token("rsa_a.pem", "a").await, token("rsa_b.pem", "b").await);
    assert_accepted(&verifier, &a).await;
    assert_eq!(verifier.decode_token(&a).unwrap()["sub"], "alice");
    assert_eq!(provider.hits(), 1, "a known kid never fetches");

    // The provider adds key b: a token naming it triggers one refetch.
    provider.set_keys(vec![jwk("rsa_a.pem", "a"), jwk("rsa_b.pem", "b")]);
    assert_accepted(&verifier, &b).await;
    assert_eq!(provider.hits(), 2);
    assert_accepted(&verifier, &a).await;
    assert_accepted(&verifier, &b).await;
    assert_eq!(provider.hits(), 2);

    // Key a leaves the provider's set: still accepted until a fetch sees that.
    provider.set_keys(vec![jwk("rsa_b.pem", "b")]);
    assert_accepted(&verifier, &a).await;
    let c = token("rsa_a.pem", "c").await;
    assert_unknown_kid(&verifier, &c, "c").await;
    assert_eq!(provider.hits(), 3);
    assert_unknown_kid(&verifier, &a, "a").await;
    assert_accepted(&verifier, &b).await;

    // The set's key is bound to its alg: the same kid under another alg is refused.
    let forged = signer("rsa_b.pem", "b", None);
    let ps = JwtManager::new(JwtConfig {
        algorithm: "PS256".into(),
        ..forged.config().clone()
    })
    .unwrap()
    .create_access_token("alice")
    .await
    .unwrap();
    assert_msg(
        call(&verifier, &ps).await,
        422,
        "The specified alg value is not allowed",
    )
    .await;
}

#[tokio::test]
async fn background_refresh_and_a_provider_that_is_down() {
    let provider = provider().await;
    provider.set_keys(vec![jwk("rsa_a.pem", "a")]);
    // max-age beyond JWT_JWKS_REFRESH_MAX is cut to it: a refresh every second.
    *provider.state.cache_control.lock().unwrap() = Some("public, max-age=86400".into());
    let verifier = verifier(JwtConfig {
        jwks_refresh_min: 1,
        jwks_refresh_max: 1,
        jwks_refetch_interval: 3600,
        ..remote_config(&provider)
    })
    .await;
    let (a, b) = (token("rsa_a.pem", "a").await, token("rsa_b.pem", "b").await);
    // Spend the one unknown-kid refetch of the hour: from now on only the refresh fetches.
    assert_unknown_kid(&verifier, &b, "b").await;
    let after_refetch = provider.hits();
    assert_unknown_kid(&verifier, &b, "b").await;
    assert_eq!(
        provider.hits(),
        after_refetch,
        "the refetch is rate-limited"
    );

    // Two fetches after the change: the first has stored the new set when the second starts.
    provider.set_keys(vec![jwk("rsa_a.pem", "a"), jwk("rsa_b.pem", "b")]);
    provider.wait_for_hits(provider.hits() + 2).await;
    assert_accepted(&verifier, &b).await;

    // Down: the refreshes fail, the last good set keeps serving.
    provider.set_down(true);
    provider.wait_for_hits(provider.hits() + 2).await;
    assert_accepted(&verifier, &a).await;
    assert_accepted(&verifier, &b).await;
    let c = token("rsa_a.pem", "c").await;
    assert_unknown_kid(&verifier, &c, "c").await;

    // Back up, with key a gone: the next refresh drops it.
    provider.set_keys(vec![jwk("rsa_b.pem", "b")]);
    provider.set_down(false);
    provider.wait_for_hits(provider.hits() + 2).await;
    assert_unknown_kid(&verifier, &a, "a").await;
    assert_accepted(&verifier, &b).await;
}

#[tokio::test]
async fn a_flood_of_random_kids_fetches_once() {
    let provider = provider().await;
    provider.set_keys(vec![jwk("rsa_a.pem", "a")]);
    let verifier = verifier(JwtConfig {
        jwks_refetch_interval: 3600,
        ..remote_config(&provider)
    })
    .await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let verifier = verifier.clone();
        tasks.push(tokio::spawn(async move {
            let kid = format!("random-{i}");
            let forged = token("rsa_b.pem", &kid).await;
            assert_unknown_kid(&verifier, &forged, &kid).await;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        provider.hits(),
        2,
        "one startup fetch and one refetch, whatever the number of unknown kids"
    );
    assert_accepted(&verifier, &token("rsa_a.pem", "a").await).await;
}

#[tokio::test]
async fn startup_errors_name_the_option_and_the_url() {
    let provider = provider().await;
    provider.set_keys(vec![jwk("rsa_a.pem", "a")]);
    let url = provider.jwks_url();

    // build() does not touch the network; it names the async path.
    let err = JwtManager::new(remote_config(&provider)).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("JWT_DECODE_JWKS_URL is fetched over the network")
            && err.to_string().contains("build_async"),
        "{err}"
    );

    // Unreachable.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/jwks.json", l.local_addr().unwrap())
    };
    let err = startup_error(JwtConfig {
        decode_jwks_url: Some(closed.clone()),
        ..remote_config(&provider)
    })
    .await;
    assert!(
        err.starts_with(&format!(
            "JWT_DECODE_JWKS_URL: cannot fetch the JWK set {closed}: "
        )),
        "{err}"
    );

    // Not found.
    let err = startup_error(JwtConfig {
        decode_jwks_url: Some(format!("{}/nowhere", provider.base)),
        ..remote_config(&provider)
    })
    .await;
    assert!(err.ends_with("HTTP status 404 Not Found"), "{err}");

    // Not a JWK set.
    provider.set_raw(json!({"hello": "world"}));
    let err = startup_error(remote_config(&provider)).await;
    assert_eq!(
        err,
        format!(
            "JWT_DECODE_JWKS_URL: cannot use the JWK set {url}: the response is not a JWK set \
             (no \"keys\" array)"
        )
    );

    // https only, unless allowed.
    let err = startup_error(JwtConfig {
        jwks_allow_http: false,
        ..remote_config(&provider)
    })
    .await;
    assert!(
        err.starts_with(&format!("JWT_DECODE_JWKS_URL: \"{url}\" is not https")),
        "{err}"
    );
    assert_eq!(provider.hits(), 1, "a refused URL is never fetched");

    // The size cap.
    provider.set_keys(vec![jwk("rsa_a.pem", "a")]);
    let err = startup_error(JwtConfig {
        jwks_max_bytes: 100,
        ..remote_config(&provider)
    })
    .await;
    assert!(
        err.ends_with("the response is larger than 100 bytes"),
        "{err}"
    );

    // A bad local option fails before any fetch.
    let before = provider.hits();
    let err = startup_error(JwtConfig {
        token_location: vec!["nowhere".into()],
        ..remote_config(&provider)
    })
    .await;
    assert!(err.contains("JWT_TOKEN_LOCATION"), "{err}");
    assert_eq!(provider.hits(), before);
}

#[tokio::test]
async fn private_symmetric_and_encryption_keys_are_skipped() {
    let provider = provider().await;
    let mut private = jwk("rsa_b.pem", "private");
    private["d"] = json!("AQAB");
    let mut encryption = jwk("rsa_b.pem", "enc");
    encryption["use"] = json!("enc");
    let mut unknown_alg = jwk("rsa_b.pem", "odd");
    unknown_alg["alg"] = json!("RSA-OAEP");
    let secret = json!({"kty": "oct", "k": "c2VjcmV0", "kid": "s", "alg": "HS256"});
    // Only bad keys: nothing to verify with is a startup error.
    provider.set_keys(vec![private.clone(), secret.clone()]);
    let err = startup_error(remote_config(&provider)).await;
    assert!(
        err.ends_with("the JWK set has no usable signature key"),
        "{err}"
    );

    // Beside a good key they are skipped (with a warning), not trusted.
    provider.set_keys(vec![
        private,
        encryption,
        unknown_alg,
        secret,
        jwk("rsa_a.pem", "a"),
    ]);
    let verifier = verifier(JwtConfig {
        jwks_refetch_interval: 3600,
        ..remote_config(&provider)
    })
    .await;
    assert_accepted(&verifier, &token("rsa_a.pem", "a").await).await;
    for kid in ["private", "enc", "odd"] {
        assert_unknown_kid(&verifier, &token("rsa_b.pem", kid).await, kid).await;
    }
}

#[tokio::test]
async fn a_key_without_alg_is_bound_to_the_configured_algorithm() {
    let provider = provider().await;
    let mut bare = jwk("rsa_a.pem", "a");
    bare.as_object_mut().unwrap().remove("alg");
    provider.set_keys(vec![bare]);
    let verifier = verifier(remote_config(&provider)).await;
    assert_accepted(&verifier, &token("rsa_a.pem", "a").await).await;
}

/// A provider's signer for `alg` with the test key `private`, writing `kid`.
fn signer_for(alg: &str, private: &str, kid: &str) -> JwtManager {
    manager(JwtConfig {
        algorithm: alg.into(),
        ..signer_config(private, kid, None)
    })
}

/// The JWK of `private` under `kid`, published without `alg` (as oidc-provider and Entra ID do).
fn jwk_without_alg(alg: &str, private: &str, kid: &str) -> Value {
    let mut jwk = serde_json::to_value(&signer_for(alg, private, kid).jwks().keys[0]).unwrap();
    jwk.as_object_mut().unwrap().remove("alg");
    jwk
}

/// RFC 7517 makes `alg` optional: a key without it verifies every algorithm its key type allows
/// within JWT_DECODE_ALGORITHMS (an RSA key RS256 and PS256, an Ed25519 key EdDSA), never one
/// outside the list, never HMAC, and a token's `alg` must fit the key its `kid` names.
#[tokio::test]
async fn a_key_without_alg_is_bound_to_every_allowed_algorithm_of_its_type() {
    let provider = provider().await;
    provider.set_keys(vec![
        jwk_without_alg("RS256", "rsa_a.pem", "rsa"),
        jwk_without_alg("EdDSA", "ed25519.pem", "ed"),
        jwk_without_alg("ES256", "ec256.pem", "ec"),
    ]);
    let verifier = verifier(JwtConfig {
        decode_algorithms: Some(vec!["RS256".into(), "PS256".into(), "EdDSA".into()]),
        jwks_refetch_interval: 3600,
        ..remote_config(&provider)
    })
    .await;
    let signed = |alg: &str, private: &str, kid: &str| {
        let signer = signer_for(alg, private, kid);
        async move { signer.create_access_token("alice").await.unwrap() }
    };
    assert_accepted(&verifier, &signed("RS256", "rsa_a.pem", "rsa").await).await;
    assert_accepted(&verifier, &signed("PS256", "rsa_a.pem", "rsa").await).await;
    assert_accepted(&verifier, &signed("EdDSA", "ed25519.pem", "ed").await).await;
    let not_allowed = "The specified alg value is not allowed";
    // RS384 fits the RSA key but is not in the list; ES256 (the P-256 key's only algorithm) either.
    assert_msg(
        call(&verifier, &signed("RS384", "rsa_a.pem", "rsa").await).await,
        422,
        not_allowed,
    )
    .await;
    assert_msg(
        call(&verifier, &signed("ES256", "ec256.pem", "ec").await).await,
        422,
        not_allowed,
    )
    .await;
    // An allowed algorithm that does not fit the key its kid names.
    assert_msg(
        call(&verifier, &signed("EdDSA", "ed25519.pem", "rsa").await).await,
        422,
        not_allowed,
    )
    .await;
    assert_msg(
        call(&verifier, &signed("PS256", "rsa_a.pem", "ed").await).await,
        422,
        not_allowed,
    )
    .await;
    // Never HMAC with the public key's bytes, even with HS256 allowed.
    let with_hmac = verifier_with_hs256(&provider).await;
    let forged = sign(
        json!({"alg": "HS256", "typ": "JWT", "kid": "rsa"}),
        claims("alice"),
        SECRET,
    );
    assert_msg(call(&with_hmac, &forged).await, 422, not_allowed).await;
}

async fn verifier_with_hs256(provider: &Provider) -> JwtManager {
    verifier(JwtConfig {
        decode_algorithms: Some(vec!["HS256".into(), "RS256".into()]),
        jwks_refetch_interval: 3600,
        ..JwtConfig {
            decode_jwks_url: Some(provider.jwks_url()),
            decode_audience: Some(vec![API.into()]),
            jwks_allow_http: true,
            ..config()
        }
    })
    .await
}

#[tokio::test]
async fn oidc_discovery_gives_the_jwks_and_requires_the_issuer() {
    let provider = provider().await;
    provider.set_keys(vec![jwk("rsa_a.pem", "a")]);
    let issuer = provider.base.clone();
    let discovered = JwtConfig {
        algorithm: "RS256".into(),
        decode_audience: Some(vec![API.into()]),
        jwks_allow_http: true,
        ..JwtConfig::default()
    };
    let verifier = builder(discovered.clone())
        .issuer_discovery(issuer.clone())
        .build_async()
        .await
        .unwrap();
    assert_eq!(provider.state.discovery_hits.load(Ordering::SeqCst), 1);
    assert_eq!(provider.hits(), 1);
    assert_eq!(
        verifier.config().decode_issuer.as_deref(),
        Some(&[issuer.clone()][..])
    );

    let from_issuer = signer("rsa_a.pem", "a", Some(&issuer))
        .create_access_token("alice")
        .await
        .unwrap();
    assert_accepted(&verifier, &from_issuer).await;
    let elsewhere = signer("rsa_a.pem", "a", Some("https://elsewhere.example"))
        .create_access_token("alice")
        .await
        .unwrap();
    assert_msg(call(&verifier, &elsewhere).await, 422, "Invalid issuer").await;
    assert_msg(
        call(&verifier, &token("rsa_a.pem", "a").await).await,
        422,
        "Token is missing the \"iss\" claim",
    )
    .await;

    // The document must name the issuer it was fetched for, exactly.
    *provider.state.discovery.lock().unwrap() =
        json!({"issuer": "https://evil.example", "jwks_uri": provider.jwks_url()});
    let err = builder(discovered.clone())
        .issuer_discovery(issuer.clone())
        .build_async()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("JWT_DECODE_ISSUER_DISCOVERY: discovery at ")
            && err.ends_with(&format!(
                "the document names the issuer \"https://evil.example\", not \"{issuer}\""
            )),
        "{err}"
    );

    // Its jwks_uri is held to the https rule like any JWKS URL.
    *provider.state.discovery.lock().unwrap() =
        json!({"issuer": issuer, "jwks_uri": "ftp://example.com/jwks"});
    let err = builder(discovered)
        .issuer_discovery(issuer.clone())
        .build_async()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("has the scheme \"ftp\""), "{err}");

    // Not both sources.
    let err = startup_error(JwtConfig {
        decode_issuer_discovery: Some(issuer),
        ..remote_config(&provider)
    })
    .await;
    assert!(err.contains("not both"), "{err}");
}

/// Like a trusted issuer, a remote key set names the audience its tokens must be issued to
/// (RFC 8725 section 3.9): without one it refuses startup before any fetch, naming the option and
/// the explicit opt-out.
#[tokio::test]
async fn a_remote_key_set_needs_an_audience() {
    let provider = provider().await;
    provider.set_keys(vec![jwk("rsa_a.pem", "a")]);
    let bare = JwtConfig {
        decode_audience: None,
        ..remote_config(&provider)
    };
    let err = builder(bare.clone()).build_async().await.unwrap_err();
    assert_eq!(err.option(), "JWT_DECODE_AUDIENCE");
    let text = err.to_string();
    assert!(
        text.starts_with("JWT_DECODE_AUDIENCE must be set when tokens are verified with a remote key set (JWT_DECODE_JWKS_URL)")
            && text.contains("JWT_DECODE_ANY_AUDIENCE"),
        "{text}"
    );
    let err = builder(JwtConfig {
        decode_jwks_url: None,
        ..bare.clone()
    })
    .issuer_discovery(provider.base.clone())
    .build_async()
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("(JWT_DECODE_ISSUER_DISCOVERY)"), "{err}");
    assert_eq!(provider.hits(), 0, "checked before any fetch");
    assert_eq!(provider.state.discovery_hits.load(Ordering::SeqCst), 0);

    // With it: a token the provider issued to another of its clients is refused.
    let verifier_ = verifier(remote_config(&provider)).await;
    assert_accepted(&verifier_, &token("rsa_a.pem", "a").await).await;
    let for_other = manager(JwtConfig {
        encode_audience: Some(vec!["other-client".into()]),
        ..signer_config("rsa_a.pem", "a", None)
    })
    .create_access_token("alice")
    .await
    .unwrap();
    assert_msg(
        call(&verifier_, &for_other).await,
        422,
        "Audience doesn't match",
    )
    .await;

    // The explicit opt-out, in code and from the environment, accepts any audience.
    let any = builder(bare.clone())
        .any_audience()
        .build_async()
        .await
        .unwrap();
    assert_accepted(&any, &for_other).await;
    let from_env = JwtConfig::from_vars(
        [
            ("JWT_ALGORITHM", "RS256"),
            ("JWT_DECODE_JWKS_URL", provider.jwks_url().as_str()),
            ("JWT_JWKS_ALLOW_HTTP", "true"),
            ("JWT_DECODE_ANY_AUDIENCE", "true"),
        ],
        &[],
    )
    .unwrap();
    assert!(from_env.decode_any_audience);
    assert_accepted(&verifier(from_env).await, &for_other).await;
    // Both, or an empty audience: startup errors.
    let both = builder(remote_config(&provider))
        .any_audience()
        .build_async()
        .await
        .unwrap_err();
    assert_eq!(
        both.to_string(),
        "JWT_DECODE_ANY_AUDIENCE is set together with JWT_DECODE_AUDIENCE: keep one"
    );
    let empty = startup_error(JwtConfig {
        decode_audience: Some(vec![" ".into()]),
        ..bare
    })
    .await;
    assert_eq!(empty, "JWT_DECODE_AUDIENCE has an empty audience");
}

#[tokio::test]
async fn own_tokens_beside_the_providers() {
    let provider = provider().await;
    provider.set_keys(vec![jwk("rsa_a.pem", "a")]);
    // This app signs HS256 tokens with its secret and also accepts the provider's RS256 tokens.
    let app = verifier(JwtConfig {
        decode_jwks_url: Some(provider.jwks_url()),
        decode_audience: Some(vec![API.into()]),
        encode_audience: Some(vec![API.into()]),
        jwks_allow_http: true,
        ..config()
    })
    .await;
    let own = app.create_access_token("alice").await.unwrap();
    assert_accepted(&app, &own).await;
    assert_accepted(&app, &token("rsa_a.pem", "a").await).await;
    // A kid selects its key with its algorithm: an HS256 token naming the provider's kid is refused.
    let confused = sign(
        json!({"alg": "HS256", "typ": "JWT", "kid": "a"}),
        claims_with("alice", json!({"aud": API})),
        SECRET,
    );
    assert_msg(
        call(&app, &confused).await,
        422,
        "The specified alg value is not allowed",
    )
    .await;
}

#[tokio::test]
async fn two_issuers_side_by_side() {
    let idp = provider().await;
    idp.set_keys(vec![jwk("rsa_a.pem", "a")]);
    let partner = provider().await;
    partner.set_keys(vec![jwk("rsa_b.pem", "b")]);
    // This app's own HS256 tokens, an identity provider found by discovery (audience "api",
    // identity in "email"), and a partner by JWKS URL (RS256 only).
    let app = builder(JwtConfig {
        jwks_allow_http: true,
        jwks_refetch_interval: 3600,
        ..config()
    })
    .trust_issuer(
        TrustedIssuer::new(idp.base.clone())
            .audience("api")
            .identity_claim("email"),
    )
    .trust_issuer(
        TrustedIssuer::new(partner.base.clone())
            .jwks_url(partner.jwks_url())
            .algorithm("RS256")
            .any_audience(),
    )
    .build_async()
    .await
    .unwrap();
    assert_eq!(idp.state.discovery_hits.load(Ordering::SeqCst), 1);
    assert_eq!(partner.state.discovery_hits.load(Ordering::SeqCst), 0);

    let own = app.create_access_token("alice").await.unwrap();
    assert_accepted(&app, &own).await;

    let idp_token = manager(JwtConfig {
        identity_claim: "email".into(),
        encode_audience: Some(vec!["api".into()]),
        ..signer_config("rsa_a.pem", "a", Some(&idp.base))
    })
    .create_access_token("alice")
    .await
    .unwrap();
    assert_accepted(&app, &idp_token).await;
    assert_eq!(app.decode_token(&idp_token).unwrap()["email"], "alice");
    // The issuer's own rules: its audience.
    let no_audience = manager(JwtConfig {
        identity_claim: "email".into(),
        encode_audience: None,
        ..signer_config("rsa_a.pem", "a", Some(&idp.base))
    })
    .create_access_token("alice")
    .await
    .unwrap();
    assert_msg(
        call(&app, &no_audience).await,
        422,
        "Token is missing the \"aud\" claim",
    )
    .await;

    let partner_token = signer("rsa_b.pem", "b", Some(&partner.base))
        .create_access_token("alice")
        .await
        .unwrap();
    assert_accepted(&app, &partner_token).await;

    // `iss` picks the key set before any key is tried: the IdP's key does not sign for the
    // partner, nor for this app.
    let claims_partner = signer("rsa_a.pem", "a", Some(&partner.base))
        .create_access_token("alice")
        .await
        .unwrap();
    assert_unknown_kid(&app, &claims_partner, "a").await;
    assert_msg(
        call(&app, &token("rsa_a.pem", "a").await).await,
        422,
        "The specified alg value is not allowed",
    )
    .await;
    // Nor does this app's secret sign for the IdP.
    let forged = sign(
        json!({"alg": "HS256", "typ": "JWT", "kid": "a"}),
        claims_with(
            "alice",
            json!({"iss": idp.base, "aud": "api", "email": "alice"}),
        ),
        SECRET,
    );
    assert_msg(
        call(&app, &forged).await,
        422,
        "The specified alg value is not allowed",
    )
    .await;
    // The partner's algorithm list.
    let ps256 = manager(JwtConfig {
        algorithm: "PS256".into(),
        ..signer_config("rsa_b.pem", "b", Some(&partner.base))
    })
    .create_access_token("alice")
    .await
    .unwrap();
    assert_msg(
        call(&app, &ps256).await,
        422,
        "The specified alg value is not allowed",
    )
    .await;

    // build() names build_async; a trusted issuer that is also this app's issuer is refused.
    let err = builder(config())
        .trust_issuer(TrustedIssuer::new(idp.base.clone()))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("build_async"), "{err}");
    let err = builder(JwtConfig {
        encode_issuer: Some(idp.base.clone()),
        jwks_allow_http: true,
        ..config()
    })
    .trust_issuer(TrustedIssuer::new(idp.base.clone()))
    .build_async()
    .await
    .unwrap_err();
    assert!(err.to_string().contains("this app's own issuer"), "{err}");
}

/// Implicit cookie refresh re-mints only this app's own tokens, never a provider's, also when
/// the provider's key is named like one of this app's own keys (the key that verified the token
/// tells, not its `kid`).
#[tokio::test]
async fn a_providers_token_is_never_re_minted() {
    for own_key_named_a in [false, true] {
        providers_token_is_never_re_minted(own_key_named_a).await;
    }
}

async fn providers_token_is_never_re_minted(own_key_named_a: bool) {
    let provider = provider().await;
    provider.set_keys(vec![jwk("rsa_a.pem", "a")]);
    let decode_keys = if own_key_named_a {
        vec![jwt_runtime::keys::DecodeKeyConfig {
            kid: "a".into(),
            algorithm: "HS256".into(),
            public_key: None,
            secret: Some("s".repeat(32)),
        }]
    } else {
        Vec::new()
    };
    let app = verifier(JwtConfig {
        token_location: vec!["cookies".into()],
        cookie_csrf_protect: false,
        implicit_refresh_window: Some(3600),
        ..JwtConfig {
            decode_jwks_url: Some(provider.jwks_url()),
            decode_audience: Some(vec![API.into()]),
            encode_audience: Some(vec![API.into()]),
            jwks_allow_http: true,
            decode_keys,
            ..config()
        }
    })
    .await;
    let cookie_call = |token: String| {
        let app = app.clone();
        async move {
            let ep = Route::new().at("/protected", get(protected)).with(app);
            poem::test::TestClient::new(ep)
                .get("/protected")
                .header("Cookie", format!("access_token_cookie={token}"))
                .send()
                .await
        }
    };
    let own = cookie_call(app.create_access_token("alice").await.unwrap()).await;
    own.assert_status_is_ok();
    assert!(
        own.0.headers().get("set-cookie").is_some(),
        "own token refreshed"
    );
    let foreign = cookie_call(token("rsa_a.pem", "a").await).await;
    foreign.assert_status_is_ok();
    assert!(
        foreign.0.headers().get("set-cookie").is_none(),
        "a provider's token is not re-minted"
    );
}

/// A provider's token is served from the verified-token cache while its key is in the set: two
/// issuers publishing the same key under the same `kid` each keep their own entries, and when
/// one of them drops the key, its cached tokens are refused from the next request on while the
/// other's still pass.
#[tokio::test]
async fn a_cached_token_is_refused_once_its_issuer_drops_the_key() {
    let (a, b) = (provider().await, provider().await);
    a.set_keys(vec![jwk("rsa_a.pem", "k")]);
    b.set_keys(vec![jwk("rsa_a.pem", "k")]);
    let app = builder(JwtConfig {
        jwks_allow_http: true,
        jwks_refetch_interval: 0,
        ..config()
    })
    .trust_issuer(
        TrustedIssuer::new(a.base.clone())
            .jwks_url(a.jwks_url())
            .any_audience(),
    )
    .trust_issuer(
        TrustedIssuer::new(b.base.clone())
            .jwks_url(b.jwks_url())
            .any_audience(),
    )
    .build_async()
    .await
    .unwrap();
    let issued_by = |issuer: &str| {
        let signer = signer("rsa_a.pem", "k", Some(issuer));
        async move { signer.create_access_token("alice").await.unwrap() }
    };
    let (of_a, of_b) = (issued_by(&a.base).await, issued_by(&b.base).await);
    for _ in 0..3 {
        assert_accepted(&app, &of_a).await;
        assert_accepted(&app, &of_b).await;
    }
    // A rotates key k out; a token naming a kid A's set lacks refetches A's set (only).
    a.set_keys(vec![jwk("rsa_b.pem", "next")]);
    let unknown = signer("rsa_b.pem", "unknown", Some(&a.base))
        .create_access_token("alice")
        .await
        .unwrap();
    assert_unknown_kid(&app, &unknown, "unknown").await;
    assert_eq!((a.hits(), b.hits()), (2, 1));
    assert_unknown_kid(&app, &of_a, "k").await;
    assert_accepted(&app, &of_b).await;
}

/// The issuer is checked before the key set is refetched: a token of an issuer this service does
/// not accept, naming a kid the set lacks, gets flask-jwt-extended's issuer error and costs the
/// provider no request; the provider's own tokens with a new kid still refetch.
#[tokio::test]
async fn a_token_of_another_issuer_never_refetches_the_set() {
    let provider = provider().await;
    provider.set_keys(vec![jwk("rsa_a.pem", "a")]);
    let verifier = builder(JwtConfig {
        algorithm: "RS256".into(),
        decode_audience: Some(vec![API.into()]),
        jwks_allow_http: true,
        jwks_refetch_interval: 0,
        ..JwtConfig::default()
    })
    .issuer_discovery(provider.base.clone())
    .build_async()
    .await
    .unwrap();
    let hits = provider.hits();
    let elsewhere = signer("rsa_b.pem", "unknown", Some("https://elsewhere.example"))
        .create_access_token("alice")
        .await
        .unwrap();
    assert_msg(call(&verifier, &elsewhere).await, 422, "Invalid issuer").await;
    let without_iss = token("rsa_b.pem", "unknown").await;
    assert_msg(
        call(&verifier, &without_iss).await,
        422,
        "Token is missing the \"iss\" claim",
    )
    .await;
    assert_eq!(provider.hits(), hits, "no refetch for a foreign issuer");

    provider.set_keys(vec![jwk("rsa_a.pem", "a"), jwk("rsa_b.pem", "b")]);
    let ours = signer("rsa_b.pem", "b", Some(&provider.base))
        .create_access_token("alice")
        .await
        .unwrap();
    assert_accepted(&verifier, &ours).await;
    assert_eq!(provider.hits(), hits + 1);
}
