//! The proof generator of the DPoP load run (`benches/load/dpop.sh`): logs in at the load server
//! (`POST /login_dpop` with a proof, as a DPoP client does) to get an access token bound to the
//! key of `ALG`, then writes that token and `N` distinct proofs for `GET /dpop` (each its own
//! `jti`; `ath` of the token, `htm` `GET`, `htu` `PUBLIC_URL/dpop`, `iat` now), one per line, to
//! `OUT`. wrk's Lua script (`benches/load/dpop.lua`) sends each proof once.
//!
//! Environment: `TARGET` (127.0.0.1:8088), `PUBLIC_URL` (`http://TARGET`, the server's
//! `JWT_DPOP_PUBLIC_URL`), `ALG` (`ES256` or `EdDSA`), `N` (100000), `OUT` (required),
//! `THREADS` (2: signing runs before the measurement, while the server's core is idle).

#[path = "dpop_proof.rs"]
mod dpop_proof;
#[allow(dead_code)] // the generator reads the status and the body only
#[path = "http1.rs"]
mod http1;

use std::io::Write as _;
use std::time::Instant;

use dpop_proof::{now, ProofKey};
use http1::env_or;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target: String = env_or("TARGET", "127.0.0.1:8088".to_string());
    let public: String = env_or("PUBLIC_URL", format!("http://{target}"));
    let alg: String = env_or("ALG", "ES256".to_string());
    let n: usize = env_or("N", 100_000);
    let threads: usize = env_or("THREADS", 2).max(1);
    let out: String = env_or("OUT", String::new());
    if out.is_empty() {
        return Err("OUT must name the file to write".into());
    }
    let key = ProofKey::named(&alg).ok_or("ALG must be ES256 or EdDSA")?;
    let start = Instant::now();

    // The login: a proof for POST /login_dpop, no token yet (no `ath`).
    let run = format!("{}-{}", std::process::id(), now());
    let proof = key.proof(
        "POST",
        &format!("{public}/login_dpop"),
        None,
        &format!("login-{run}"),
        now(),
    );
    let answer = http1::Conn::connect(&target)?.send(
        "POST",
        "/login_dpop",
        &format!("DPoP: {proof}\r\n"),
    )?;
    if answer.status != 200 {
        return Err(format!("the login answered {}: {}", answer.status, answer.body).into());
    }
    let token = answer.body;

    let url = format!("{public}/dpop");
    let iat = now();
    let chunk = n.div_ceil(threads);
    let parts: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (key, token, url, run) = (&key, &token, &url, &run);
                s.spawn(move || {
                    let mut part = String::new();
                    for i in t * chunk..((t + 1) * chunk).min(n) {
                        let jti = format!("{run}-{i}");
                        part.push_str(&key.proof("GET", url, Some(token), &jti, iat));
                        part.push('\n');
                    }
                    part
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut file = std::io::BufWriter::new(std::fs::File::create(&out)?);
    writeln!(file, "{token}")?;
    for part in &parts {
        file.write_all(part.as_bytes())?;
    }
    file.flush()?;
    eprintln!(
        "{n} {alg} proofs for {url} in {:.1}s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
