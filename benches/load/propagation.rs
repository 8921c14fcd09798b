//! How long a revocation on one instance takes to be refused by another, through Redis.
//!
//! Two managers (two "instances") share one Redis with `RedisBlocklist`; each round mints a
//! token, checks that instance B accepts it, revokes it on instance A and then asks B again and
//! again (through the whole `#[jwt_required]` pipeline) until B refuses it. Prints the
//! distribution of that delay. Needs Redis at `REDIS_URL` (default `redis://127.0.0.1:6379`).
//!
//! ```text
//! cargo run --release -p jwt-benches --example propagation [rounds (500)]
//! ```

use std::time::{Duration, Instant};

use jwt_runtime::stores::{RedisBlocklist, RedisBlocklistOptions};
use jwt_runtime::{jwt_required, JwtConfig, JwtManager};
use poem::http::{header, StatusCode};
use poem::{get, handler, Endpoint, EndpointExt, Request, Route};

#[jwt_required]
#[handler]
async fn protected() -> &'static str {
    "ok"
}

async fn instance(url: &str, prefix: &str) -> Result<JwtManager, Box<dyn std::error::Error>> {
    let options = RedisBlocklistOptions::default().prefix(prefix);
    let store = RedisBlocklist::connect_with(url, options).await?;
    assert!(
        store.wait_until_current(Duration::from_secs(5)).await,
        "mirror never became current"
    );
    Ok(
        JwtManager::builder(JwtConfig::default().with_secret("0123456789abcdef0123456789abcdef"))
            .blocklist(store)
            .build()?,
    )
}

async fn status(app: &impl Endpoint, token: &str) -> StatusCode {
    let req = Request::builder()
        .uri_str("/protected")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .finish();
    app.get_response(req).await.status()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(500);
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("jwt-propagation-{}:", std::process::id());
    let a = instance(&url, &prefix).await?;
    let b = instance(&url, &prefix).await?;
    let app_b = Route::new().at("/protected", get(protected)).with(b);

    let mut delays = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let token = a.create_access_token("alice").await?;
        assert_eq!(status(&app_b, &token).await, StatusCode::OK);
        a.revoke_encoded(&token).await?;
        let revoked_at = Instant::now();
        loop {
            if status(&app_b, &token).await == StatusCode::UNAUTHORIZED {
                break;
            }
            if revoked_at.elapsed() > Duration::from_secs(5) {
                return Err("instance B still accepts a token revoked 5 s ago".into());
            }
            tokio::task::yield_now().await;
        }
        delays.push(revoked_at.elapsed());
    }
    delays.sort();
    let at = |q: f64| delays[((delays.len() as f64 * q) as usize).min(delays.len() - 1)];
    println!(
        "revocation on A refused by B, over {rounds} revocations: p50 {:?}, p99 {:?}, max {:?}",
        at(0.50),
        at(0.99),
        delays[delays.len() - 1]
    );
    Ok(())
}
