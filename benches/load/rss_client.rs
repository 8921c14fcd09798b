//! The client of the memory run (`benches/load/rss.sh`): sends `GET /protected` with a token
//! never sent before on every request (each minted here with the server's secret, a new `jti`
//! each time, expiring `EXP_SECS` after it was minted), over `CONNS` keep-alive connections,
//! and samples the server's resident memory (`VmRSS` of `SERVER_PID`) every `EVERY_SECS`.
//!
//! Prints one line per sample and a summary; exits non-zero when any request was not answered
//! 200 (a token refused or a broken connection), so a fast wrong answer cannot pass as a result.
//!
//! Environment: `TARGET` (127.0.0.1:8088), `SERVER_PID` (required), `SECS` (60), `CONNS` (16),
//! `EXP_SECS` (60), `EVERY_SECS` (10), `JWT_SECRET_KEY` (as the server's).

#[allow(dead_code)] // rss_client reads only the status
#[path = "http1.rs"]
mod http1;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

use http1::env_or;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

struct Counters {
    sent: AtomicU64,
    refused: AtomicU64,
    stop: AtomicBool,
}

/// One keep-alive connection sending first-seen tokens until told to stop.
fn connection(
    target: &str,
    secret: &[u8],
    exp_secs: u64,
    counters: &Counters,
) -> std::io::Result<()> {
    let key = EncodingKey::from_secret(secret);
    let mut conn = http1::Conn::connect(target)?;
    while !counters.stop.load(Ordering::Relaxed) {
        let n = counters.sent.fetch_add(1, Ordering::Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let claims = json!({
            "fresh": false, "iat": now, "jti": format!("rss-{n}"), "type": "access",
            "sub": "alice", "nbf": now, "exp": now + exp_secs,
        });
        let token = encode(&Header::default(), &claims, &key).map_err(std::io::Error::other)?;
        if conn.request("GET", "/protected", Some(&token))?.status != 200 {
            counters.refused.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

fn main() {
    let target: String = env_or("TARGET", "127.0.0.1:8088".to_string());
    let pid: u32 = env_or("SERVER_PID", 0);
    let secs: u64 = env_or("SECS", 60);
    let conns: usize = env_or("CONNS", 16);
    let exp_secs: u64 = env_or("EXP_SECS", 60);
    let every: u64 = env_or("EVERY_SECS", 10);
    let secret: String = env_or("JWT_SECRET_KEY", String::new());
    assert!(pid != 0, "SERVER_PID must name the server process");

    let counters = Arc::new(Counters {
        sent: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let broken = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let (counters, broken) = (counters.clone(), broken.clone());
            let (target, secret) = (target.clone(), secret.clone());
            std::thread::spawn(move || {
                if connection(&target, secret.as_bytes(), exp_secs, &counters).is_err() {
                    broken.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    let start = Instant::now();
    let first = rss_kib(pid);
    println!("t=0s rss={} MiB (before load)", first / 1024);
    let mut samples = Vec::new();
    let mut last = 0;
    while start.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_secs(every.min(secs)));
        let sent = counters.sent.load(Ordering::Relaxed);
        let rss = rss_kib(pid);
        samples.push(rss);
        println!(
            "t={}s tokens={} ({} req/s) rss={:.1} MiB",
            start.elapsed().as_secs(),
            sent,
            (sent - last) / every.min(secs).max(1),
            rss as f64 / 1024.0
        );
        last = sent;
    }
    counters.stop.store(true, Ordering::Relaxed);
    for thread in threads {
        let _ = thread.join();
    }
    let sent = counters.sent.load(Ordering::Relaxed);
    let refused = counters.refused.load(Ordering::Relaxed);
    let broken = broken.load(Ordering::Relaxed);
    let half = &samples[samples.len() / 2..];
    let max_first = samples[..samples.len() / 2]
        .iter()
        .max()
        .copied()
        .unwrap_or(0);
    let max_second = half.iter().max().copied().unwrap_or(0);
    println!(
        "distinct tokens: {sent}; refused: {refused}; broken connections: {broken}; \
         rss before load {:.1} MiB, max in the first half {:.1} MiB, max in the second half {:.1} MiB",
        first as f64 / 1024.0,
        max_first as f64 / 1024.0,
        max_second as f64 / 1024.0
    );
    if refused > 0 || broken > 0 {
        std::process::exit(1);
    }
}
