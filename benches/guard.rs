//! What `#[jwt_required]` costs per request, next to no guard and a hand-written jsonwebtoken check.
//!
//! Every case serves one `GET /protected` end to end through Poem (`Endpoint::get_response` on the
//! route tree, no sockets) and asserts the status is 200, so a broken guard cannot look fast.
//! `jwt_required` repeats one token (served from the verified-token cache after the first
//! request); `jwt_required_first_seen` runs with the cache off, as for a token never seen before.
//!
//! The `verify` group times verification alone, in the same run on the same token: the
//! pipeline's step for a first-seen token, `JwtManager::decode_token` (which also builds the
//! claims map) and `jsonwebtoken::decode`.
//!
//! ```text
//! cargo bench --bench guard
//! cargo bench --bench guard -- verify
//! ```

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use jwt_runtime::__private::verify_as_the_pipeline;
use jwt_runtime::{jwt_required, Identity, JwtConfig, JwtManager};
use poem::http::{header, StatusCode};
use poem::{get, handler, Endpoint, EndpointExt, Request, Route};
use serde_json::Value;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// No guard at all: the floor for routing plus a handler returning a String.
#[handler]
async fn unprotected() -> String {
    "alice".to_string()
}

/// The crate's guard.
#[jwt_required]
#[handler]
async fn protected(identity: Identity) -> String {
    identity.to_string()
}

/// What a typical user writes by hand with jsonwebtoken.
#[handler]
async fn hand_written(req: &Request) -> poem::Result<String> {
    let unauthorized = || poem::Error::from_status(StatusCode::UNAUTHORIZED);
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    let data = decode::<Value>(
        token,
        &DecodingKey::from_secret(SECRET.as_bytes()),
        &validation,
    )
    .map_err(|_| unauthorized())?;
    data.claims
        .get("sub")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(unauthorized)
}

fn manager() -> JwtManager {
    JwtManager::new(JwtConfig::default().with_secret(SECRET)).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn request(authorization: Option<&str>) -> Request {
    let builder = Request::builder().uri_str("/protected");
    match authorization {
        Some(value) => builder.header(header::AUTHORIZATION, value).finish(),
        None => builder.finish(),
    }
}

/// Serves one request through `endpoint` and checks it succeeded.
async fn serve(endpoint: &impl Endpoint, authorization: Option<&str>) {
    let resp = endpoint.get_response(request(authorization)).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

/// Serves one request through `endpoint`, checks it succeeded and returns the body.
async fn body(endpoint: &impl Endpoint, authorization: Option<&str>) -> String {
    let resp = endpoint.get_response(request(authorization)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.into_body().into_string().await.unwrap()
}

fn guard(c: &mut Criterion) {
    let rt = runtime();
    let jwt = manager();
    let token = rt.block_on(async { jwt.create_access_token("alice").await.unwrap() });
    let bearer = format!("Bearer {token}");

    let plain = Route::new().at("/protected", get(unprotected));
    let guarded = Route::new()
        .at("/protected", get(protected))
        .with(jwt.clone());
    let by_hand = Route::new().at("/protected", get(hand_written));
    // The verified-token cache off: every request verifies the signature and parses the token,
    // as a first-seen token does.
    let uncached = Route::new().at("/protected", get(protected)).with(
        JwtManager::new(JwtConfig {
            verified_token_cache_size: 0,
            ..JwtConfig::default().with_secret(SECRET)
        })
        .unwrap(),
    );

    // Sanity: each endpoint answers what it should before anything is timed.
    rt.block_on(async {
        assert_eq!(body(&plain, Some(&bearer)).await, "alice");
        assert_eq!(body(&guarded, Some(&bearer)).await, "alice");
        assert_eq!(body(&by_hand, Some(&bearer)).await, "alice");
        assert_eq!(body(&uncached, Some(&bearer)).await, "alice");
        let resp = guarded.get_response(request(None)).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let resp = by_hand.get_response(request(None)).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    });

    let mut group = c.benchmark_group("guard");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("unprotected", |b| {
        b.to_async(&rt).iter(|| serve(&plain, Some(&bearer)))
    });
    group.bench_function("jwt_required", |b| {
        b.to_async(&rt).iter(|| serve(&guarded, Some(&bearer)))
    });
    group.bench_function("jwt_required_first_seen", |b| {
        b.to_async(&rt).iter(|| serve(&uncached, Some(&bearer)))
    });
    group.bench_function("hand_written", |b| {
        b.to_async(&rt).iter(|| serve(&by_hand, Some(&bearer)))
    });
    group.finish();
}

fn token(c: &mut Criterion) {
    let rt = runtime();
    let jwt = manager();
    let token = rt.block_on(async { jwt.create_access_token("alice").await.unwrap() });

    let mut group = c.benchmark_group("token");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("create_access_token", |b| {
        b.to_async(&rt).iter(|| async {
            let token = jwt.create_access_token("alice").await.unwrap();
            assert!(!token.is_empty());
            token
        })
    });
    group.bench_function("decode_token", |b| {
        b.iter(|| {
            let claims = jwt.decode_token(&token).unwrap();
            assert_eq!(claims["sub"], "alice");
            claims
        })
    });
    group.finish();
}

/// Verification alone, side by side, on the same token: what the pipeline does with a token it
/// has not seen before (split, header rules, pinned algorithm, signature with the key's reused
/// verifier, the library's claims read in one pass and checked; the claims map is built only if
/// a handler asks for it), `JwtManager::decode_token` (the same checks, returning the claims
/// map), and `jsonwebtoken::decode` into a `Value` with a key built once. Each reads `sub`.
fn verify(c: &mut Criterion) {
    let rt = runtime();
    let jwt = manager();
    let uncached = JwtManager::new(JwtConfig {
        verified_token_cache_size: 0,
        ..JwtConfig::default().with_secret(SECRET)
    })
    .unwrap();
    let token = rt.block_on(async { jwt.create_access_token("alice").await.unwrap() });
    let key = DecodingKey::from_secret(SECRET.as_bytes());
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;

    let mut group = c.benchmark_group("verify");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("pipeline_first_seen", |b| {
        b.iter(|| {
            let token = verify_as_the_pipeline(&uncached, &token).unwrap();
            assert_eq!(token.identity(), "alice");
            token
        })
    });
    group.bench_function("decode_token", |b| {
        b.iter(|| {
            let claims = jwt.decode_token(&token).unwrap();
            assert_eq!(claims["sub"], "alice");
            claims
        })
    });
    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| {
            let data = decode::<Value>(&token, &key, &validation).unwrap();
            assert_eq!(data.claims["sub"], "alice");
            data
        })
    });
    group.finish();
}

criterion_group!(benches, guard, token, verify);
criterion_main!(benches);
