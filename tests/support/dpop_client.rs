//! A DPoP client (RFC 9449) made of independent implementations, for the tests marked
//! `#[ignore = "needs node"]`: `tests/support/oidc-provider/dpop-client.mjs` runs panva's `dpop`
//! package (the proofs) and `jose` (the RFC 7638 thumbprints) in node, driven over JSON lines.
//! `npm ci --prefix tests/support/oidc-provider` installs them (`.ci/run` does).

use std::io::{BufRead, BufReader, BufWriter, Lines, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use serde_json::{json, Value};

/// The proof algorithms the harness makes keys for. `EdDSA` is an Ed25519 key: `dpop` writes
/// `alg: "Ed25519"` (RFC 9864's name) in its proofs.
pub const PROOF_ALGORITHMS: [&str; 4] = ["ES256", "EdDSA", "PS256", "RS256"];

/// A key pair held by the node process (the private key never leaves it).
#[derive(Clone, Debug)]
pub struct DpopKey {
    id: String,
    /// The public JWK `dpop` puts in its proofs' header.
    pub jwk: Value,
    /// Its RFC 7638 thumbprint (SHA-256, base64url) as `jose` computes it: the `cnf.jkt` a token
    /// bound to this key carries.
    pub thumbprint: String,
}

struct Pipes {
    input: BufWriter<ChildStdin>,
    output: Lines<BufReader<ChildStdout>>,
}

/// A running `dpop-client.mjs`, killed on drop.
pub struct DpopClient {
    child: Child,
    pipes: Mutex<Pipes>,
}

fn harness_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/support/oidc-provider"
    ))
}

impl DpopClient {
    /// Starts the harness and waits for its `ready` line. Panics with the command to run unless
    /// node and the harness's packages are installed.
    pub fn start() -> Self {
        let modules = harness_dir().join("node_modules/dpop");
        assert!(
            modules.is_dir(),
            "{} is missing: run `npm ci --prefix tests/support/oidc-provider` (needs node and npm), \
             or run without --ignored",
            modules.display()
        );
        let mut child = Command::new("node")
            .arg("dpop-client.mjs")
            .current_dir(harness_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start node (is it installed?): {e}"));
        let input = BufWriter::new(child.stdin.take().expect("piped stdin"));
        let mut output = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let first = output.next().and_then(Result::ok);
        assert_eq!(
            first.as_deref(),
            Some("ready"),
            "dpop-client.mjs did not start"
        );
        Self {
            child,
            pipes: Mutex::new(Pipes { input, output }),
        }
    }

    /// Sends one request and reads its answer; panics on the harness's `{"error": ...}`.
    fn ask(&self, request: Value) -> Value {
        let mut pipes = self.pipes.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(pipes.input, "{request}").expect("write to dpop-client.mjs");
        pipes.input.flush().expect("flush to dpop-client.mjs");
        let line = pipes
            .output
            .next()
            .expect("dpop-client.mjs answered")
            .expect("read from dpop-client.mjs");
        let answer: Value = serde_json::from_str(&line).expect("a JSON line");
        assert!(
            answer.get("error").is_none(),
            "dpop-client.mjs refused {request}: {answer}"
        );
        answer
    }

    /// A new key pair for `alg` (one of [`PROOF_ALGORITHMS`]).
    pub fn generate(&self, alg: &str) -> DpopKey {
        let answer = self.ask(json!({"op": "generate", "alg": alg}));
        DpopKey {
            id: answer["key"].as_str().expect("key").to_string(),
            jwk: answer["jwk"].clone(),
            thumbprint: answer["thumbprint"]
                .as_str()
                .expect("thumbprint")
                .to_string(),
        }
    }

    /// `generateProof(key, htu, htm, nonce, accessToken)` of the `dpop` package: a fresh `jti`
    /// and the current `iat`, `ath` when `access_token` is given.
    pub fn proof(
        &self,
        key: &DpopKey,
        htm: &str,
        htu: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> String {
        let answer = self.ask(json!({
            "op": "proof",
            "key": key.id,
            "htm": htm,
            "htu": htu,
            "nonce": nonce,
            "access_token": access_token,
        }));
        answer["proof"].as_str().expect("proof").to_string()
    }
}

impl Drop for DpopClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The decoded payload of a compact JWS.
pub fn payload(token: &str) -> Value {
    use base64::Engine as _;
    let segment = token.split('.').nth(1).expect("a payload");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(segment)
            .expect("base64url"),
    )
    .expect("a JSON payload")
}

/// `DPoP <token>`: the Authorization value of a DPoP-bound token (RFC 9449 section 7.1).
pub fn dpop_authorization(token: &str) -> String {
    format!("DPoP {token}")
}
