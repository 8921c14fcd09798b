//! The verified-token cache with an identity provider's keys: a repeated token verified with a
//! key of the remote JWK set is served from the cache (in place, without waiting), until that key
//! leaves the provider's set: then at once it is verified again, and refused. A flood of distinct
//! valid tokens keeps the cache within its bound. A local Poem server plays the provider.

use std::sync::{Arc, Mutex};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use poem::listener::TcpAcceptor;
use poem::web::Data;
use poem::{get, handler, EndpointExt, Request, Route, Server};
use serde_json::{json, Value};

use super::pipeline::{verify, verify_now, VerifyOptions};
use crate::config::JwtConfig;
use crate::engine::hooks::Hooks;
use crate::engine::Engine;
use crate::revocation::MemoryBlocklist;

const NOW: i64 = 1_700_000_000;
const RSA_A: &str = include_str!("../../../tests/keys/rsa_a.pem");
const EC256: &str = include_str!("../../../tests/keys/ec256.pem");

type Keys = Arc<Mutex<Vec<Value>>>;

#[handler]
fn jwks(Data(keys): Data<&Keys>) -> poem::web::Json<Value> {
    let keys = keys.lock().map(|k| k.clone()).unwrap_or_default();
    poem::web::Json(json!({ "keys": keys }))
}

/// A provider on a free loopback port, serving `keys` (changeable) at `/jwks.json`.
async fn provider(keys: Keys) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let app = Route::new().at("/jwks.json", get(jwks)).data(keys);
    tokio::spawn(Server::new_with_acceptor(TcpAcceptor::from_tokio(listener).unwrap()).run(app));
    url
}

fn signing_key(alg: Algorithm) -> EncodingKey {
    match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(EC256.as_bytes()).unwrap(),
        _ => EncodingKey::from_rsa_pem(RSA_A.as_bytes()).unwrap(),
    }
}

/// The public JWK of the test key for `alg`, named `kid`.
fn public_jwk(alg: Algorithm, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(&signing_key(alg), alg).unwrap();
    jwk.common.key_id = Some(kid.into());
    serde_json::to_value(jwk).unwrap()
}

fn token(alg: Algorithm, kid: &str, sub: &str) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    let claims = json!({ "sub": sub, "type": "access", "exp": NOW + 600, "jti": sub });
    encode(&header, &claims, &signing_key(alg)).unwrap()
}

async fn engine(url: String, cache_size: usize) -> Engine {
    let config = JwtConfig {
        algorithm: "RS256".into(),
        decode_algorithms: Some(vec!["RS256".into(), "ES256".into()]),
        decode_jwks_url: Some(url),
        jwks_allow_http: true,
        jwks_refetch_interval: 0,
        verified_token_cache_size: cache_size,
        // The tests' tokens carry no `aud`: every token of this provider is meant for them.
        decode_any_audience: true,
        ..JwtConfig::default()
    };
    let clock = Arc::new(|| NOW as f64);
    let store = Box::new(MemoryBlocklist::new());
    Engine::new_async(config, clock, store, Hooks::default(), Vec::new())
        .await
        .expect("the engine starts")
}

fn request(token: &str) -> Request {
    Request::builder()
        .header("Authorization", format!("Bearer {token}"))
        .finish()
}

/// The pipeline's answer: the identity, or the refusal's body.
async fn answer(engine: &Engine, token: &str) -> Result<String, String> {
    match verify(engine, &mut request(token), &VerifyOptions::new()).await {
        Ok(Some(token)) => Ok(token.claims()["sub"].as_str().unwrap_or_default().into()),
        Ok(None) => Err("anonymous".into()),
        Err(e) => Err(e.into_response().into_body().into_string().await.unwrap()),
    }
}

/// Whether the token is settled in place, as a cache hit is.
fn served_in_place(engine: &Engine, token: &str) -> bool {
    matches!(
        verify_now(engine, &request(token), &VerifyOptions::new()),
        Ok(Ok(Some(_)))
    )
}

#[tokio::test]
async fn a_remote_keys_tokens_are_cached_until_the_key_leaves_the_set() {
    let keys: Keys = Arc::new(Mutex::new(vec![
        public_jwk(Algorithm::RS256, "rsa"),
        public_jwk(Algorithm::ES256, "ec"),
    ]));
    let engine = engine(provider(keys.clone()).await, 64).await;
    let (rsa, ec) = (
        token(Algorithm::RS256, "rsa", "alice"),
        token(Algorithm::ES256, "ec", "bob"),
    );
    for (token, who) in [(&rsa, "alice"), (&ec, "bob")] {
        assert!(
            !served_in_place(&engine, token),
            "never seen: verified in full"
        );
        assert_eq!(answer(&engine, token).await.as_deref(), Ok(who));
        // Seen: a repeated token is answered from the cache, without waiting.
        assert!(served_in_place(&engine, token));
        assert_eq!(answer(&engine, token).await.as_deref(), Ok(who));
    }
    assert_eq!(engine.cached_tokens(), 2);

    // The provider drops the RSA key; a token naming an unknown kid makes the set refetch.
    keys.lock().unwrap().remove(0);
    let unknown = token(Algorithm::RS256, "new", "carol");
    assert!(answer(&engine, &unknown).await.is_err());
    // From the next request on, the RSA key's cached token is refused; the EC key's stays.
    assert!(!served_in_place(&engine, &rsa));
    let refused = answer(&engine, &rsa).await.unwrap_err();
    assert!(
        refused.contains("Unable to find a signing key that matches: \\\"rsa\\\""),
        "{refused}"
    );
    assert!(served_in_place(&engine, &ec));

    // The key back under its kid (a new fetch): its tokens verify in full once, then hit again.
    keys.lock()
        .unwrap()
        .push(public_jwk(Algorithm::RS256, "rsa"));
    assert!(answer(&engine, &token(Algorithm::RS256, "other", "dave"))
        .await
        .is_err());
    assert_eq!(answer(&engine, &rsa).await.as_deref(), Ok("alice"));
    assert!(served_in_place(&engine, &rsa));
    // A key the refetch lists again keeps its cached tokens.
    assert!(served_in_place(&engine, &ec));
}

#[tokio::test]
async fn a_flood_of_distinct_remote_tokens_stays_within_the_bound() {
    let keys: Keys = Arc::new(Mutex::new(vec![public_jwk(Algorithm::ES256, "ec")]));
    let engine = engine(provider(keys).await, 8).await;
    for i in 0..100 {
        let token = token(Algorithm::ES256, "ec", &format!("user-{i}"));
        assert_eq!(answer(&engine, &token).await, Ok(format!("user-{i}")));
        assert!(engine.cached_tokens() <= 8, "{}", engine.cached_tokens());
    }
    assert!(engine.cached_tokens() > 0);
}
