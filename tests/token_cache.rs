//! The verified-token cache (`JWT_VERIFIED_TOKEN_CACHE_SIZE`) only skips the signature check and
//! the parsing of a token seen before: every check that depends on time, on the request or on the
//! route still runs on a repeated token. Each test runs with the cache on (the default) and off,
//! and must give the same answers.

use crate::support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use jwt_runtime::keys::DecodingKey;
use jwt_runtime::stores::{Blocklist, BlocklistError, TokenInfo};
use jwt_runtime::{jwt_required, Identity, JwtConfig, TokenLocation};
use poem::test::{TestClient, TestResponse};
use poem::{get, handler, post, EndpointExt, Route};
use serde_json::json;
use support::*;

#[jwt_required]
#[handler]
async fn plain(identity: Identity) -> String {
    identity.as_str().unwrap_or_default().to_string()
}

#[jwt_required(fresh)]
#[handler]
async fn fresh_only() -> &'static str {
    "fresh"
}

#[jwt_required(refresh)]
#[handler]
async fn refresh_only() -> &'static str {
    "refresh"
}

#[jwt_required(locations = "headers,query_string")]
#[handler]
async fn where_found(TokenLocation(location): TokenLocation) -> &'static str {
    location.as_str()
}

fn app() -> Route {
    Route::new()
        .at("/plain", get(plain).post(plain))
        .at("/where", get(where_found))
        .at("/fresh", get(fresh_only))
        .at("/refresh", post(refresh_only))
}

/// The config with the cache at `size` (0: off).
fn cached(size: usize, config: JwtConfig) -> JwtConfig {
    JwtConfig {
        verified_token_cache_size: size,
        ..config
    }
}

const SIZES: [usize; 2] = [4096, 0];

/// `GET path` with `token` as a bearer token.
async fn bearer_get<E: poem::Endpoint>(
    cli: &TestClient<E>,
    path: &str,
    token: &str,
) -> TestResponse {
    authorized_get(cli, path, &bearer(token)).await
}

/// `GET path` with this `Authorization` header, as it is.
async fn authorized_get<E: poem::Endpoint>(
    cli: &TestClient<E>,
    path: &str,
    authorization: &str,
) -> TestResponse {
    cli.get(path)
        .header("Authorization", authorization)
        .send()
        .await
}

#[tokio::test]
async fn a_repeated_token_still_expires() {
    for size in SIZES {
        let (jwt, clock) = manager_with_clock(cached(size, config()));
        let token = hs256(claims_with("alice", json!({ "exp": NOW + 60 })));
        let cli = TestClient::new(app().with(jwt));
        for _ in 0..2 {
            let resp = bearer_get(&cli, "/plain", &token).await;
            resp.assert_status_is_ok();
            resp.assert_text("alice").await;
        }
        clock.set(NOW + 60);
        let resp = bearer_get(&cli, "/plain", &token).await;
        assert_msg(resp, 401, "Token has expired").await;
    }
}

#[tokio::test]
async fn a_repeated_token_is_still_refused_before_nbf_and_after_revocation() {
    for size in SIZES {
        let (jwt, clock) = manager_with_clock(cached(size, config()));
        let token = hs256(claims_with("alice", json!({ "nbf": NOW, "iat": NOW })));
        let cli = TestClient::new(app().with(jwt.clone()));
        bearer_get(&cli, "/plain", &token)
            .await
            .assert_status_is_ok();
        // The clock goes back (a test clock; in production a skewed host): nbf is checked again.
        clock.set(NOW - 10);
        let resp = bearer_get(&cli, "/plain", &token).await;
        assert_msg(resp, 422, "The token is not yet valid (iat)").await;
        clock.set(NOW);
        bearer_get(&cli, "/plain", &token)
            .await
            .assert_status_is_ok();
        jwt.revoke_encoded(&token).await.expect("revoked");
        let resp = bearer_get(&cli, "/plain", &token).await;
        assert_msg(resp, 401, "Token has been revoked").await;
    }
}

/// The cache shares one verified token between the requests that carry it the same way: a
/// request carrying it another way still learns where it was found this time.
#[tokio::test]
async fn a_repeated_token_reports_where_this_request_carried_it() {
    for size in SIZES {
        let token = hs256(claims_with("alice", json!({})));
        let cli = client(app(), cached(size, config()));
        for _ in 0..2 {
            let resp = bearer_get(&cli, "/where", &token).await;
            resp.assert_status_is_ok();
            resp.assert_text("headers").await;
            let resp = cli.get(format!("/where?jwt={token}")).send().await;
            resp.assert_status_is_ok();
            resp.assert_text("query_string").await;
        }
    }
}

#[tokio::test]
async fn a_repeated_cookie_token_still_needs_its_csrf_value() {
    for size in SIZES {
        let config = JwtConfig {
            token_location: vec!["cookies".into()],
            ..cached(size, config())
        };
        let token = hs256(claims_with("alice", json!({ "csrf": "the-csrf-value" })));
        let cli = client(app(), config);
        let cookie = format!("access_token_cookie={token}");
        let resp = cli
            .post("/plain")
            .header("Cookie", &cookie)
            .header("X-CSRF-TOKEN", "the-csrf-value")
            .send()
            .await;
        resp.assert_status_is_ok();
        let resp = cli
            .post("/plain")
            .header("Cookie", &cookie)
            .header("X-CSRF-TOKEN", "another-value")
            .send()
            .await;
        assert_msg(resp, 401, "CSRF double submit tokens do not match").await;
        let resp = cli.post("/plain").header("Cookie", &cookie).send().await;
        assert_msg(resp, 401, "Missing CSRF token").await;
    }
}

#[tokio::test]
async fn a_repeated_token_still_meets_each_route_s_type_and_freshness() {
    for size in SIZES {
        let token = hs256(claims("alice"));
        let cli = client(app(), cached(size, config()));
        bearer_get(&cli, "/plain", &token)
            .await
            .assert_status_is_ok();
        let resp = bearer_get(&cli, "/fresh", &token).await;
        assert_msg(resp, 401, "Fresh token required").await;
        let resp = cli
            .post("/refresh")
            .header("Authorization", bearer(&token))
            .send()
            .await;
        assert_msg(resp, 422, "Only refresh tokens are allowed").await;
    }
}

/// The loader trusts the token's key the first time, then rotates it away; or it declines the
/// first time (`None`), which sends the token to the configured keys, whose answer the cache
/// keeps. Either way a repeated token must ask the loader again and use the key it gives then.
#[tokio::test]
async fn a_token_verified_with_a_loaded_key_is_verified_again_every_time() {
    let first_answers: [Option<&'static [u8]>; 2] = [Some(SECRET.as_bytes()), None];
    for first_answer in first_answers {
        for size in SIZES {
            let calls = Arc::new(AtomicUsize::new(0));
            let seen = calls.clone();
            let jwt = builder(cached(size, config()))
                .decode_key_loader(move |_header, _payload| {
                    let first = seen.fetch_add(1, Ordering::SeqCst) == 0;
                    let secret = if first {
                        first_answer
                    } else {
                        Some(&b"a-rotated-secret-of-32-bytes!!!!"[..])
                    };
                    async move { secret.map(DecodingKey::from_secret) }
                })
                .build()
                .expect("valid config");
            let token = hs256(claims("alice"));
            let cli = TestClient::new(app().with(jwt));
            bearer_get(&cli, "/plain", &token)
                .await
                .assert_status_is_ok();
            let resp = bearer_get(&cli, "/plain", &token).await;
            assert_msg(resp, 422, "Signature verification failed").await;
            assert_eq!(calls.load(Ordering::SeqCst), 2);
        }
    }
}

/// A repeated token is found by the bytes of its header: any header that is not exactly
/// `Bearer <token>` must get the answer it gets when the token was never seen.
#[tokio::test]
async fn a_repeated_token_in_an_unusual_header_gets_the_first_time_answer() {
    let token = hs256(claims("alice"));
    let variants = [
        format!("Bearer  {token}"),
        format!("Bearer {token} "),
        format!("Bearer {token},"),
        format!("Bearer {token}, Basic abc"),
        format!("Bearer {token}, Bearer {token}"),
        format!("bearer {token}"),
        format!("Bearer\t{token}"),
        format!("Bearer {token}x"),
        format!("Bearer {}", &token[1..]),
        format!("JWT {token}"),
        token.clone(),
    ];
    let answer = |resp: TestResponse| async move {
        let status = resp.0.status();
        (
            status,
            resp.0.into_body().into_string().await.expect("body"),
        )
    };
    for variant in &variants {
        let mut answers = Vec::new();
        for size in SIZES {
            let cli = client(app(), cached(size, config()));
            // The token as usual first: with the cache on, it is now cached.
            bearer_get(&cli, "/plain", &token)
                .await
                .assert_status_is_ok();
            let resp = authorized_get(&cli, "/plain", variant).await;
            answers.push(answer(resp).await);
        }
        let fresh = client(app(), cached(0, config()));
        let resp = authorized_get(&fresh, "/plain", variant).await;
        answers.push(answer(resp).await);
        assert!(
            answers.windows(2).all(|w| w[0] == w[1]),
            "{variant:?}: {answers:?}"
        );
    }
}

#[tokio::test]
async fn a_token_differing_in_one_byte_is_verified_on_its_own() {
    let token = hs256(claims("alice"));
    let cli = client(app(), config());
    bearer_get(&cli, "/plain", &token)
        .await
        .assert_status_is_ok();
    // Change one character inside the signature: a cache keyed on anything less than the whole
    // token (a prefix, the payload) would accept it.
    let at = token.len() - 10;
    let replaced = if &token[at..at + 1] == "A" { "B" } else { "A" };
    let forged = format!("{}{}{}", &token[..at], replaced, &token[at + 1..]);
    let resp = bearer_get(&cli, "/plain", &forged).await;
    assert_msg(resp, 422, "Signature verification failed").await;
}

/// Each key's signature verifier is built once per thread and reused (engine::verifiers): two
/// managers with different secrets, used alternately on one thread, must each keep refusing the
/// other's tokens and accepting their own, with the cache on and off.
#[tokio::test]
async fn two_keys_on_one_thread_never_share_a_verifier() {
    const OTHER: &str = "fedcba9876543210fedcba9876543210";
    for size in SIZES {
        let ours = TestClient::new(app().with(manager(cached(size, config()))));
        let theirs = TestClient::new(app().with(manager(cached(
            size,
            JwtConfig::default().with_secret(OTHER),
        ))));
        let ours_token = hs256(claims("alice"));
        let theirs_token = sign(
            json!({ "alg": "HS256", "typ": "JWT" }),
            claims("bob"),
            OTHER,
        );
        for _ in 0..3 {
            let resp = bearer_get(&ours, "/plain", &ours_token).await;
            resp.assert_status_is_ok();
            resp.assert_text("alice").await;
            let resp = bearer_get(&theirs, "/plain", &ours_token).await;
            assert_msg(resp, 422, "Signature verification failed").await;
            let resp = bearer_get(&theirs, "/plain", &theirs_token).await;
            resp.assert_status_is_ok();
            resp.assert_text("bob").await;
            let resp = bearer_get(&ours, "/plain", &theirs_token).await;
            assert_msg(resp, 422, "Signature verification failed").await;
        }
    }
}

/// A store that only answers by asking (no in-place answer), and says "revoked" once told to.
#[derive(Default)]
struct AnswersLater(std::sync::atomic::AtomicBool);
impl Blocklist for AnswersLater {
    async fn is_revoked(&self, _: &TokenInfo) -> Result<bool, BlocklistError> {
        Ok(self.0.load(Ordering::SeqCst))
    }
    async fn revoke(&self, _: &TokenInfo) -> Result<(), BlocklistError> {
        self.0.store(true, Ordering::SeqCst);
        Ok(())
    }
    async fn revoke_user(&self, _: &str, _: i64) -> Result<(), BlocklistError> {
        Ok(())
    }
}

/// A repeated header token still waits for every step that has to be waited for: the claims
/// verification hook, a store without an in-place answer, the session of a rotated login.
#[tokio::test]
async fn a_repeated_token_still_waits_for_the_hook_the_store_and_the_session() {
    for size in SIZES {
        // The hook is asked on every request, and its "no" is heard on a repeated token.
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let jwt = builder(cached(size, config()))
            .token_verification_loader(move |_| {
                let call = seen.fetch_add(1, Ordering::SeqCst);
                async move { call < 2 }
            })
            .build()
            .unwrap();
        let token = hs256(claims("alice"));
        let cli = TestClient::new(app().with(jwt));
        for _ in 0..2 {
            let resp = bearer_get(&cli, "/plain", &token).await;
            resp.assert_status_is_ok();
        }
        let resp = bearer_get(&cli, "/plain", &token).await;
        assert_msg(resp, 400, "User claims verification failed").await;
        assert_eq!(calls.load(Ordering::SeqCst), 3, "cache size {size}");

        // A store that answers only when asked is asked for a repeated token.
        let jwt = builder(cached(size, config()))
            .blocklist(AnswersLater::default())
            .build()
            .unwrap();
        let cli = TestClient::new(app().with(jwt.clone()));
        for _ in 0..2 {
            let resp = bearer_get(&cli, "/plain", &token).await;
            resp.assert_status_is_ok();
        }
        jwt.revoke_encoded(&token).await.expect("revoked");
        let resp = bearer_get(&cli, "/plain", &token).await;
        assert_msg(resp, 401, "Token has been revoked").await;

        // Under rotation, a repeated access token of an ended session is refused.
        let mut rotation = cached(size, config());
        rotation.refresh_rotation = true;
        let jwt = builder(rotation).build().unwrap();
        let cli = TestClient::new(app().with(jwt.clone()));
        let login = jwt.login("alice").await.unwrap();
        for _ in 0..2 {
            let resp = bearer_get(&cli, "/plain", &login.access_token).await;
            resp.assert_status_is_ok();
        }
        jwt.end_session(&json!("alice"), &login.session)
            .await
            .unwrap();
        let resp = bearer_get(&cli, "/plain", &login.access_token).await;
        assert_msg(resp, 401, "Token has been revoked").await;
    }
}
