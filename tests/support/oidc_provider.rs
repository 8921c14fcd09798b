//! A real OpenID Provider (panva's `oidc-provider`, in node) on a loopback port, for the tests
//! marked `#[ignore = "needs node"]`. The harness is `tests/support/oidc-provider/provider.mjs`
//! (what it serves is described at its top); `npm ci --prefix tests/support/oidc-provider`
//! installs its pinned packages (`.ci/run` does).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The algorithms the provider signs access tokens with: client `client-<alg>` gets tokens signed
/// with `<alg>`.
pub const ALGORITHMS: [&str; 4] = ["RS256", "PS256", "ES256", "EdDSA"];

/// The audience (resource indicator) the tests' resource server is known by at the provider.
pub const AUDIENCE: &str = "https://notes.example/api";

/// A running provider, killed on drop.
pub struct OidcProvider {
    child: Option<Child>,
    /// `http://127.0.0.1:<port>`: the issuer and the base of every endpoint.
    pub issuer: String,
}

fn harness_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/support/oidc-provider"
    ))
}

/// Panics with the command to run unless node and the harness's packages are installed.
fn require_harness() {
    let modules = harness_dir().join("node_modules/oidc-provider");
    assert!(
        modules.is_dir(),
        "{} is missing: run `npm ci --prefix tests/support/oidc-provider` (needs node and npm), \
         or run without --ignored",
        modules.display()
    );
}

impl OidcProvider {
    /// Starts the provider on a free loopback port and waits until it listens.
    pub fn start() -> Self {
        require_harness();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Self::start_on(port)
    }

    fn start_on(port: u16) -> Self {
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .arg(port.to_string())
            .current_dir(harness_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start node (is it installed?): {e}"));
        // The script prints `listening <issuer>` once it accepts connections.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(issuer) = line.strip_prefix("listening ") {
                    let _ = tx.send(issuer.to_string());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(issuer) = rx.recv_timeout(Duration::from_millis(100)) {
                return Self {
                    child: Some(child),
                    issuer,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the OIDC provider exited before listening on {port}: {status}");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the OIDC provider did not listen on {port} within 30 s");
            }
        }
    }

    /// Stops the provider (its port then refuses connections): the provider is down.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A client-credentials access token of `client-<alg>` for `resource` with `scope` (space
    /// separated; empty for none): the whole token response's `access_token`.
    pub async fn token(&self, alg: &str, resource: &str, scope: &str) -> String {
        let mut form = vec![("grant_type", "client_credentials"), ("resource", resource)];
        if !scope.is_empty() {
            form.push(("scope", scope));
        }
        let response = reqwest::Client::new()
            .post(format!("{}/token", self.issuer))
            .basic_auth(format!("client-{alg}"), Some("secret"))
            .form(&form)
            .send()
            .await
            .expect("the token endpoint answers");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON token response");
        assert!(status.is_success(), "token request failed: {status} {body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// A client-credentials token response of `client-<alg>` for `resource` with `scope`, the
    /// request carrying the DPoP proof `proof` (made for `POST <issuer>/token`): the whole JSON
    /// response (`access_token`, `token_type`, ...), whatever its status.
    pub async fn dpop_token(&self, alg: &str, resource: &str, scope: &str, proof: &str) -> Value {
        let response = reqwest::Client::new()
            .post(self.token_endpoint())
            .basic_auth(format!("client-{alg}"), Some("secret"))
            .header("DPoP", proof)
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", resource),
                ("scope", scope),
            ])
            .send()
            .await
            .expect("the token endpoint answers");
        response.json().await.expect("a JSON token response")
    }

    /// `<issuer>/token`: the `htu` of a proof for the token endpoint.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// Rotates the provider's keys: a new key of each type, signing from now on; the old ones stay
    /// published unless `retire`. Answers the published JWK set.
    pub async fn rotate(&self, retire: bool) -> Value {
        let query = if retire { "?retire=1" } else { "" };
        let response = reqwest::Client::new()
            .post(format!("{}/admin/rotate{query}", self.issuer))
            .send()
            .await
            .expect("the rotation route answers");
        assert!(response.status().is_success(), "{}", response.status());
        response.json().await.expect("a JWK set")
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The decoded header of a compact JWS.
pub fn header(token: &str) -> Value {
    use base64::Engine as _;
    let segment = token.split('.').next().expect("a header");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(segment)
            .expect("base64url"),
    )
    .expect("a JSON header")
}
