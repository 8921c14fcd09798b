//! The revoking client of the scale-out run (`benches/load/scale_out.sh`): two app instances
//! (A and B, `load_server` with `STORE=redis` and one shared `REDIS_PREFIX`) behind the loopback
//! balancer, under wrk load. Each round mints a token on A, checks that B accepts it (through
//! the balancer), revokes it on A, and then keeps sending it through the balancer for `WINDOW_MS`
//! over `CONNS` connections (round robin puts them on both instances). It counts the requests B
//! answered 200 with the revoked token, and how long after the revocation was issued the last of
//! them was sent: over all rounds, requests B let through later than `BOUND_MS` must be 0.
//!
//! Environment: `LB` (127.0.0.1:8090), `A` (A's own address, 127.0.0.1:8091), `ROUNDS` (200),
//! `WINDOW_MS` (200), `BOUND_MS` (50), `CONNS` (4). Exits non-zero when a revoked token got
//! through B after the bound, or when B never saw a request in a round.

#[path = "http1.rs"]
mod http1;

use std::time::{Duration, Instant};

use http1::{env_or, Conn};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lb: String = env_or("LB", "127.0.0.1:8090".to_string());
    let a: String = env_or("A", "127.0.0.1:8091".to_string());
    let rounds: usize = env_or("ROUNDS", 200);
    let window = Duration::from_millis(env_or("WINDOW_MS", 200));
    let bound = Duration::from_millis(env_or("BOUND_MS", 50));
    let conns: usize = env_or("CONNS", 4);

    let mut on_a = Conn::connect(&a)?;
    let mut through_lb = (0..conns)
        .map(|_| Conn::connect(&lb))
        .collect::<Result<Vec<_>, _>>()?;
    // Which instance each balancer connection reaches (round robin per connection).
    let mut reaches_b = Vec::new();
    for conn in &mut through_lb {
        let answer = conn.request("GET", "/unprotected", None)?;
        reaches_b.push(answer.instance.as_deref() == Some("B"));
    }
    if !reaches_b.contains(&true) {
        return Err("no balancer connection reaches instance B".into());
    }

    let (mut after_bound, mut accepted_by_b, mut sent_to_b) = (0usize, 0usize, 0usize);
    let mut last_accepted = Vec::with_capacity(rounds);
    let mut revoke_calls = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let token = on_a.request("POST", "/login", None)?.body;
        let b = through_lb
            .iter_mut()
            .zip(&reaches_b)
            .find(|(_, b)| **b)
            .map(|(c, _)| c)
            .ok_or("no connection to B")?;
        let answer = b.request("GET", "/protected", Some(&token))?;
        if answer.status != 200 || answer.instance.as_deref() != Some("B") {
            return Err(format!("B did not accept a fresh token: {}", answer.status).into());
        }
        let issued = Instant::now();
        let revoked = on_a.request("POST", "/revoke", Some(&token))?;
        if revoked.status != 200 {
            return Err(format!("A did not revoke: {} {}", revoked.status, revoked.body).into());
        }
        revoke_calls.push(issued.elapsed());
        let mut last = Duration::ZERO;
        let mut saw_b = false;
        while issued.elapsed() < window {
            for conn in &mut through_lb {
                let sent = issued.elapsed();
                let answer = conn.request("GET", "/protected", Some(&token))?;
                if answer.instance.as_deref() != Some("B") {
                    continue;
                }
                saw_b = true;
                sent_to_b += 1;
                if answer.status == 200 {
                    accepted_by_b += 1;
                    last = last.max(sent);
                    if sent > bound {
                        after_bound += 1;
                    }
                }
            }
        }
        if !saw_b {
            return Err("B answered no request in a round".into());
        }
        last_accepted.push(last);
    }
    last_accepted.sort();
    revoke_calls.sort();
    let at = |v: &[Duration], q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    println!(
        "{rounds} revocations on A; {sent_to_b} requests with a revoked token reached B, {accepted_by_b} \
         accepted; last accepted request sent after the revocation was issued: p50 {:?}, p99 {:?}, \
         max {:?} (revoke call on A: p50 {:?}, p99 {:?}); accepted by B later than the {:?} bound: \
         {after_bound}",
        at(&last_accepted, 0.5),
        at(&last_accepted, 0.99),
        last_accepted[last_accepted.len() - 1],
        at(&revoke_calls, 0.5),
        at(&revoke_calls, 0.99),
        bound,
    );
    if after_bound > 0 {
        return Err(format!(
            "{after_bound} requests with a revoked token got through B after the bound"
        )
        .into());
    }
    Ok(())
}
