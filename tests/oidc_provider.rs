//! Proven against a real identity provider (issue 25): panva's certified `oidc-provider`, run in
//! node by `tests/support/oidc-provider/provider.mjs`, issues JWT access tokens (RFC 9068,
//! `typ: at+jwt`) by the client credentials grant for a resource indicator, signed with RS256,
//! PS256, ES256 or EdDSA, and publishes its keys the way it does (the RSA and Ed25519 keys without
//! `alg`). A verifier built by OIDC discovery of its issuer accepts them for its audience only,
//! picks up the provider's key rotation through the unknown-`kid` refetch, refuses to start while
//! the provider is down, and keeps serving its last good key set when the provider goes down later.
//!
//! Every test is `#[ignore = "needs node"]`: `npm ci --prefix tests/support/oidc-provider`, then
//! `cargo test -p jwt-tests --test behaviour oidc_provider:: -- --ignored` (`.ci/run` does both).

use crate::support;

use std::time::Duration;

use jwt_runtime::{jwt_required, Identity, JwtConfig, JwtManager};
use poem::{get, handler, EndpointExt, Route};
use serde_json::json;
use support::logs::with_logs;
use support::oidc_provider::{header, OidcProvider, ALGORITHMS, AUDIENCE};
use support::{assert_msg, bearer};

/// A resource server's configuration for the provider's tokens signed with `algorithms` (the
/// first is `JWT_ALGORITHM`): the audience it is known by, plain http for the loopback provider.
fn resource_server(algorithms: &[&str]) -> JwtConfig {
    JwtConfig {
        algorithm: algorithms[0].into(),
        decode_algorithms: Some(algorithms.iter().map(|a| a.to_string()).collect()),
        decode_audience: Some(vec![AUDIENCE.into()]),
        jwks_allow_http: true,
        ..JwtConfig::default()
    }
}

/// A verifier that finds the provider by discovery of its issuer (on the real clock: the provider
/// stamps its tokens with the real time).
async fn discover(provider: &OidcProvider, config: JwtConfig) -> JwtManager {
    JwtManager::builder(config)
        .issuer_discovery(provider.issuer.clone())
        .build_async()
        .await
        .expect("the verifier starts against the provider")
}

#[jwt_required]
#[handler]
async fn whoami(identity: Identity) -> String {
    identity.to_string()
}

async fn call(verifier: &JwtManager, token: &str) -> poem::test::TestResponse {
    let app = Route::new()
        .at("/whoami", get(whoami))
        .with(verifier.clone());
    poem::test::TestClient::new(app)
        .get("/whoami")
        .header("Authorization", bearer(token))
        .send()
        .await
}

/// The token opens the protected route as the client it was issued to.
async fn assert_accepted(verifier: &JwtManager, token: &str, alg: &str) {
    let response = call(verifier, token).await;
    response.assert_status_is_ok();
    response.assert_text(format!("client-{alg}")).await;
}

/// `token` with its header's `kid` replaced.
fn with_kid(token: &str, kid: &str) -> String {
    use base64::Engine as _;
    let mut head = header(token);
    head["kid"] = json!(kid);
    let rest = token
        .split_once('.')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(head.to_string());
    format!("{encoded}.{rest}")
}

async fn assert_unknown_kid(verifier: &JwtManager, token: &str) {
    let kid = header(token)["kid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_msg(
        call(verifier, token).await,
        422,
        &format!("Unable to find a signing key that matches: \"{kid}\""),
    )
    .await;
}

/// One algorithm end to end: the provider's token for our audience opens the route, with the
/// claims RFC 9068 gives it.
async fn accepts_the_providers_token(alg: &str) {
    let provider = OidcProvider::start();
    let verifier = discover(&provider, resource_server(&[alg])).await;
    let token = provider.token(alg, AUDIENCE, "notes:read").await;
    let head = header(&token);
    assert_eq!(head["alg"], alg, "{head}");
    assert_eq!(head["typ"], "at+jwt", "{head}");
    assert_accepted(&verifier, &token, alg).await;

    let claims = verifier.decode_token(&token).expect("verified");
    assert_eq!(claims["iss"], provider.issuer);
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["client_id"], format!("client-{alg}"));
    assert_eq!(claims["scope"], "notes:read");
    // Discovery pinned the issuer: the verifier now requires it in every token.
    assert_eq!(
        verifier.config().decode_issuer.as_deref(),
        Some(&[provider.issuer.clone()][..])
    );
}

#[tokio::test]
#[ignore = "needs node"]
async fn rs256_access_token_by_client_credentials() {
    accepts_the_providers_token("RS256").await;
}

#[tokio::test]
#[ignore = "needs node"]
async fn ps256_access_token_by_client_credentials() {
    accepts_the_providers_token("PS256").await;
}

#[tokio::test]
#[ignore = "needs node"]
async fn es256_access_token_by_client_credentials() {
    accepts_the_providers_token("ES256").await;
}

#[tokio::test]
#[ignore = "needs node"]
async fn eddsa_access_token_by_client_credentials() {
    accepts_the_providers_token("EdDSA").await;
}

/// A token the provider issued for another resource server (another `aud`) is refused, signed by
/// the same key (RFC 8725 §3.9: no substitution between the provider's resource servers).
#[tokio::test]
#[ignore = "needs node"]
async fn a_token_for_another_audience_is_refused() {
    let provider = OidcProvider::start();
    let verifier = discover(&provider, resource_server(&["ES256"])).await;
    let other = provider
        .token("ES256", "https://other.example/api", "notes:read")
        .await;
    let ours = provider.token("ES256", AUDIENCE, "notes:read").await;
    assert_eq!(header(&other)["kid"], header(&ours)["kid"]);
    assert_msg(call(&verifier, &other).await, 422, "Audience doesn't match").await;
    assert_accepted(&verifier, &ours, "ES256").await;
}

/// One resource server accepting every algorithm the provider signs with, as a deployment lists
/// them in `JWT_DECODE_ALGORITHMS`. The provider publishes its RSA key (used for RS256 and PS256)
/// and its Ed25519 key without `alg`: each is bound to every listed algorithm of its type (it
/// failed when such a key was bound to `JWT_ALGORITHM` alone: PS256 422 "The specified alg value
/// is not allowed", the Ed25519 key skipped).
#[tokio::test]
#[ignore = "needs node"]
async fn one_verifier_for_every_algorithm() {
    let provider = OidcProvider::start();
    let verifier = discover(&provider, resource_server(&ALGORITHMS)).await;
    let mut refused = Vec::new();
    for alg in ALGORITHMS {
        let token = provider.token(alg, AUDIENCE, "notes:read").await;
        let response = call(&verifier, &token).await.0;
        let status = response.status();
        let body = response.into_body().into_string().await.unwrap_or_default();
        if status != 200 || body != format!("client-{alg}") {
            refused.push(format!("{alg}: {status} {}", body.trim_end()));
        }
    }
    assert!(refused.is_empty(), "refused: {refused:?}");
}

/// The provider rotates its keys: tokens signed by the new key are accepted through one refetch
/// of the JWK set (the unknown `kid`), the old key's tokens while the provider still publishes it,
/// and no longer once it retired it and a fetch saw that.
#[tokio::test]
#[ignore = "needs node"]
async fn provider_side_rotation_is_picked_up_by_the_kid_miss_refetch() {
    for alg in ["RS256", "ES256"] {
        let provider = OidcProvider::start();
        let verifier = discover(
            &provider,
            JwtConfig {
                jwks_refetch_interval: 0,
                ..resource_server(&[alg])
            },
        )
        .await;
        let before = provider.token(alg, AUDIENCE, "").await;
        assert_accepted(&verifier, &before, alg).await;

        let published = provider.rotate(false).await;
        let after = provider.token(alg, AUDIENCE, "").await;
        let (old_kid, new_kid) = (
            header(&before)["kid"].clone(),
            header(&after)["kid"].clone(),
        );
        assert_ne!(old_kid, new_kid, "the provider signs with its new key");
        assert!(
            published["keys"]
                .as_array()
                .is_some_and(|keys| keys.iter().any(|k| k["kid"] == old_kid)),
            "the old key is still published: {published}"
        );
        assert_accepted(&verifier, &after, alg).await;
        assert_accepted(&verifier, &before, alg).await;

        // The provider retires the old keys: the next new kid refetches, and that fetch drops them.
        provider.rotate(true).await;
        let newest = provider.token(alg, AUDIENCE, "").await;
        assert_accepted(&verifier, &newest, alg).await;
        assert_unknown_kid(&verifier, &before).await;
        assert_unknown_kid(&verifier, &after).await;
    }
}

/// The provider is down when the service starts: `build_async` fails with the option and the URL.
#[tokio::test]
#[ignore = "needs node"]
async fn provider_down_at_startup_is_a_startup_error_naming_the_option() {
    let mut provider = OidcProvider::start();
    let issuer = provider.issuer.clone();
    provider.stop();
    let err = JwtManager::builder(resource_server(&["RS256"]))
        .issuer_discovery(issuer.clone())
        .build_async()
        .await
        .expect_err("no provider, no start")
        .to_string();
    assert!(
        err.starts_with(&format!(
            "JWT_DECODE_ISSUER_DISCOVERY: discovery at {issuer}/.well-known/openid-configuration: "
        )),
        "{err}"
    );
}

/// The provider goes down after startup: the background refreshes and the unknown-`kid` refetch
/// fail (logged as warnings), and the last good key set keeps serving the tokens it covers.
#[tokio::test]
#[ignore = "needs node"]
async fn provider_down_after_startup_keeps_the_last_good_key_set() {
    let mut provider = OidcProvider::start();
    let verifier = discover(
        &provider,
        JwtConfig {
            jwks_refresh_min: 1,
            jwks_refresh_max: 1,
            jwks_refetch_interval: 0,
            ..resource_server(&["ES256"])
        },
    )
    .await;
    let known = provider.token("ES256", AUDIENCE, "notes:read").await;
    assert_accepted(&verifier, &known, "ES256").await;
    // The same token naming a kid the set lacks (its signature is never checked).
    let unseen = with_kid(&known, "not-published-yet");
    provider.stop();

    let ((), logs) = with_logs(async {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_accepted(&verifier, &known, "ES256").await;
        assert_unknown_kid(&verifier, &unseen).await;
    })
    .await;
    assert!(
        logs.contains("refreshing the remote JWK set failed"),
        "the background refresh tried and failed: {logs}"
    );
    assert!(
        logs.contains("refetching the remote JWK set for an unknown kid failed"),
        "the unknown kid refetched and failed: {logs}"
    );
    assert_eq!(
        verifier.decode_token(&known).expect("still verified")["aud"],
        json!(AUDIENCE)
    );
}

/// RFC 9068 held against the provider's real access tokens: with the profile required
/// (`JWT_DECODE_ACCESS_TOKEN_PROFILE`) they pass (`typ: at+jwt`, `client_id`, `iat`, `jti`), and a
/// route needing `notes:write` refuses a token the provider issued with `notes:read` only.
#[tokio::test]
#[ignore = "needs node"]
async fn the_providers_tokens_follow_rfc_9068_and_carry_their_scopes() {
    let provider = OidcProvider::start();
    let verifier = discover(
        &provider,
        JwtConfig {
            decode_access_token_profile: true,
            ..resource_server(&["ES256"])
        },
    )
    .await;
    let reader = provider.token("ES256", AUDIENCE, "notes:read").await;
    assert_accepted(&verifier, &reader, "ES256").await;

    #[jwt_required(scopes = "notes:write")]
    #[handler]
    async fn write() -> &'static str {
        "written"
    }
    let cli = poem::test::TestClient::new(
        poem::Route::new()
            .at("/write", poem::post(write))
            .with(verifier.clone()),
    );
    let refused = cli
        .post("/write")
        .header("Authorization", format!("Bearer {reader}"))
        .send()
        .await;
    refused.assert_status(poem::http::StatusCode::FORBIDDEN);
    refused
        .assert_json(serde_json::json!({"msg": "Missing scope: notes:write"}))
        .await;
    let writer = provider
        .token("ES256", AUDIENCE, "notes:read notes:write")
        .await;
    cli.post("/write")
        .header("Authorization", format!("Bearer {writer}"))
        .send()
        .await
        .assert_text("written")
        .await;
}
