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
//! The `dpop` group serves `GET /dpop` under `#[jwt_required(dpop)]` with a DPoP-bound token (got
//! from a login with a proof, `POST /login_dpop`) and a proof of its own on every iteration (ES256
//! and EdDSA; signed in `iter_batched`'s untimed setup), beside the Bearer route with a repeated
//! token: a proof is one asymmetric signature check per request and is never cached. The
//! `replay_record` group times `MemoryBlocklist::record_proof_now` in the steady state of a flood:
//! the record holding 0, 100 000 or 1 000 000 live proofs, each new proof expiring one old one.
//!
//! ```text
//! cargo bench --bench guard
//! cargo bench --bench guard -- verify
//! cargo bench --bench guard -- 'dpop|replay_record'
//! ```

#[path = "load/dpop_proof.rs"]
mod dpop_proof;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use dpop_proof::{now, ProofKey};
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use jwt_runtime::__private::verify_as_the_pipeline;
use jwt_runtime::hooks::Clock;
use jwt_runtime::stores::{Blocklist, MemoryBlocklist, ProofRecord};
use jwt_runtime::{jwt_required, DpopProof, Identity, JwtConfig, JwtManager};
use poem::http::{header, Method, StatusCode};
use poem::{get, handler, post, Endpoint, EndpointExt, Request, Route};
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

/// The crate's guard with DPoP required.
#[jwt_required(dpop)]
#[handler]
async fn protected_dpop(identity: Identity) -> String {
    identity.to_string()
}

/// A DPoP client's login: the token is bound to the key of the request's proof.
#[handler]
async fn login_dpop(jwt: JwtManager, proof: DpopProof) -> poem::Result<String> {
    Ok(jwt.create_access_token("alice").bind(&proof).await?)
}

/// The URL the proofs name (`JWT_DPOP_PUBLIC_URL`).
const PUBLIC: &str = "http://bench.example";

/// A `jti` never used before in this process.
fn jti() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("bench-{}", N.fetch_add(1, Ordering::Relaxed))
}

fn dpop_request(token: &str, proof: &str) -> Request {
    Request::builder()
        .uri_str("/dpop")
        .header(header::AUTHORIZATION, format!("DPoP {token}"))
        .header("DPoP", proof)
        .finish()
}

/// `#[jwt_required(dpop)]` beside the Bearer route of the same manager, each request with a new
/// proof (replays would be refused, and the status is asserted).
fn dpop(c: &mut Criterion) {
    let rt = runtime();
    let jwt = JwtManager::new(JwtConfig {
        dpop_public_url: Some(PUBLIC.into()),
        ..JwtConfig::default().with_secret(SECRET)
    })
    .unwrap();
    let app = Route::new()
        .at("/protected", get(protected))
        .at("/dpop", get(protected_dpop))
        .at("/login_dpop", post(login_dpop))
        .with(jwt.clone());
    let bearer = rt.block_on(async { jwt.create_access_token("alice").await.unwrap() });
    let bearer = format!("Bearer {bearer}");
    let keys: Vec<(&str, ProofKey, String)> = ["ES256", "EdDSA"]
        .into_iter()
        .map(|name| {
            let key = ProofKey::named(name).unwrap();
            let login = key.proof("POST", &format!("{PUBLIC}/login_dpop"), None, &jti(), now());
            let req = Request::builder()
                .method(Method::POST)
                .uri_str("/login_dpop")
                .header("DPoP", login)
                .finish();
            let token = rt.block_on(async {
                let resp = app.get_response(req).await;
                assert_eq!(resp.status(), StatusCode::OK, "the DPoP login");
                resp.into_body().into_string().await.unwrap()
            });
            (name, key, token)
        })
        .collect();
    let url = format!("{PUBLIC}/dpop");
    // Sanity: a proof is accepted once, and the Bearer route still answers.
    rt.block_on(async {
        let (_, key, token) = &keys[0];
        let proof = key.proof("GET", &url, Some(token), &jti(), now());
        let resp = app.get_response(dpop_request(token, &proof)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let resp = app.get_response(dpop_request(token, &proof)).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "a replayed proof");
        serve(&app, Some(&bearer)).await;
    });

    let mut group = c.benchmark_group("dpop");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("bearer_cached", |b| {
        b.to_async(&rt).iter(|| serve(&app, Some(&bearer)))
    });
    for (name, key, token) in &keys {
        group.bench_function(format!("dpop_{}", name.to_lowercase()), |b| {
            b.to_async(&rt).iter_batched(
                || dpop_request(token, &key.proof("GET", &url, Some(token), &jti(), now())),
                |req| async {
                    let resp = app.get_response(req).await;
                    assert_eq!(resp.status(), StatusCode::OK);
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// A clock the bench moves by hand (the store's expiry reads it).
struct HandClock(AtomicI64);

impl Clock for HandClock {
    fn now(&self) -> f64 {
        self.0.load(Ordering::Relaxed) as f64
    }
}

/// The memory store's replay record in the steady state of a flood of distinct proofs: `size`
/// live proofs, each new proof arriving as the oldest expires (proof j kept until j + size + 1,
/// recorded at j + 2). Stays O(1) whatever `size` (up to `MAX_MEMORY_PROOFS`).
fn replay_record(c: &mut Criterion) {
    let mut group = c.benchmark_group("replay_record");
    group.measurement_time(Duration::from_secs(3));
    for size in [0_i64, 100_000, 1_000_000] {
        let clock = Arc::new(HandClock(AtomicI64::new(0)));
        let mut store = MemoryBlocklist::new();
        store.use_clock(clock.clone());
        let record = |j: i64| ProofRecord {
            key: format!("{j:064x}"),
            retain_until: j + size + 1,
        };
        for i in 0..size {
            assert_eq!(store.record_proof_now(&record(i)).unwrap().ok(), Some(true));
        }
        let mut j = size;
        group.bench_function(BenchmarkId::new("record_proof_now", size), |b| {
            b.iter(|| {
                clock.0.store(j + 2, Ordering::Relaxed);
                let fresh = store.record_proof_now(&record(j)).unwrap().unwrap();
                assert!(fresh);
                j += 1;
            })
        });
        assert!(
            store.len() <= size.max(1) as usize,
            "the record stayed at its size"
        );
    }
    group.finish();
}

criterion_group!(benches, guard, token, verify, dpop, replay_record);
criterion_main!(benches);
