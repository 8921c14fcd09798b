//! `examples/dpop.rs` over a real socket, driven by an independent DPoP client: proofs made by
//! panva's `dpop` package (npm) in node (`tests/support/oidc-provider/dpop-client.mjs`), key
//! thumbprints by `jose`. Login, the protected route and the refresh route accept them for every
//! key type the package makes; the tokens are bound to the key (`cnf.jkt`), and a token copied
//! without its key is refused: as `Bearer` (what curl would send), under `DPoP` without a proof,
//! and with a proof by another key.
//!
//! Every test is `#[ignore = "needs node"]`: `npm ci --prefix tests/support/oidc-provider`, then
//! `cargo test -p jwt-tests --test over_sockets dpop_example:: -- --ignored`.

use crate::support;

use serde_json::{json, Value};
use support::dpop_client::{dpop_authorization, payload, DpopClient, DpopKey};
use support::server::{start, Server};

/// One request's answer: status, `WWW-Authenticate` and the JSON body.
struct Answer {
    status: u16,
    challenge: String,
    body: Value,
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("the example answers");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.json().await.expect("a JSON body");
    Answer {
        status,
        challenge,
        body,
    }
}

/// The example and a client with its key of `alg`.
struct Session {
    server: Server,
    node: DpopClient,
    key: DpopKey,
    http: reqwest::Client,
}

impl Session {
    fn start(alg: &str) -> Self {
        let node = DpopClient::start();
        let key = node.generate(alg);
        Self {
            server: start("dpop"),
            node,
            key,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base)
    }

    /// A proof by `key` for `method` on `path`, with `ath` for `token`.
    fn proof_by(&self, key: &DpopKey, method: &str, path: &str, token: Option<&str>) -> String {
        self.node.proof(key, method, &self.url(path), None, token)
    }

    async fn login(&self, credentials: Value) -> Answer {
        let proof = self.proof_by(&self.key, "POST", "/login", None);
        send(
            self.http
                .post(self.url("/login"))
                .header("DPoP", proof)
                .json(&credentials),
        )
        .await
    }

    /// `method path` with `Authorization: DPoP <token>` and a proof by `key`.
    async fn with_key(&self, key: &DpopKey, method: &str, path: &str, token: &str) -> Answer {
        let proof = self.proof_by(key, method, path, Some(token));
        let request = match method {
            "POST" => self.http.post(self.url(path)),
            _ => self.http.get(self.url(path)),
        };
        send(
            request
                .header("Authorization", dpop_authorization(token))
                .header("DPoP", proof),
        )
        .await
    }

    async fn call(&self, method: &str, path: &str, token: &str) -> Answer {
        self.with_key(&self.key, method, path, token).await
    }
}

fn admin() -> Value {
    json!({"username": "admin", "password": "123456"})
}

fn token(answer: &Answer, name: &str) -> String {
    answer.body[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {}", answer.body))
        .to_string()
}

/// Login, protected route and refresh with proofs by `alg`'s key.
async fn full_flow(alg: &str) {
    let s = Session::start(alg);

    let login = s.login(admin()).await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.body["token_type"], "DPoP", "{}", login.body);
    let access = token(&login, "access_token");
    let refresh = token(&login, "refresh_token");
    // Both tokens are bound to the thumbprint `jose` computes for the client's key.
    for bound in [&access, &refresh] {
        assert_eq!(
            payload(bound)["cnf"],
            json!({"jkt": s.key.thumbprint}),
            "{alg}"
        );
    }

    let protected = s.call("GET", "/protected", &access).await;
    assert_eq!(
        (protected.status, protected.body),
        (200, json!({"logged_in_as": "admin"})),
        "{alg}"
    );

    let refreshed = s.call("POST", "/refresh", &refresh).await;
    assert_eq!(refreshed.status, 200, "{alg}: {}", refreshed.body);
    assert_eq!(refreshed.body["token_type"], "DPoP");
    let new_access = token(&refreshed, "access_token");
    assert_ne!(new_access, access);
    assert_eq!(payload(&new_access)["cnf"]["jkt"], s.key.thumbprint);
    let again = s.call("GET", "/protected", &new_access).await;
    assert_eq!(
        (again.status, again.body),
        (200, json!({"logged_in_as": "admin"}))
    );
}

#[tokio::test]
#[ignore = "needs node"]
async fn es256_proofs_of_the_dpop_package() {
    full_flow("ES256").await;
}

#[tokio::test]
#[ignore = "needs node"]
async fn ed25519_proofs_of_the_dpop_package() {
    // `dpop` signs them with `alg: "Ed25519"` (RFC 9864), not `EdDSA`.
    full_flow("EdDSA").await;
}

#[tokio::test]
#[ignore = "needs node"]
async fn ps256_proofs_of_the_dpop_package() {
    full_flow("PS256").await;
}

#[tokio::test]
#[ignore = "needs node"]
async fn rs256_proofs_of_the_dpop_package() {
    full_flow("RS256").await;
}

#[tokio::test]
#[ignore = "needs node"]
async fn bad_credentials_get_the_tutorials_answer() {
    let s = Session::start("ES256");
    let bad = s
        .login(json!({"username": "admin", "password": "nope"}))
        .await;
    assert_eq!(
        (bad.status, bad.body),
        (401, json!({"msg": "Bad username or password"}))
    );
}

#[tokio::test]
#[ignore = "needs node"]
async fn login_without_a_proof_is_refused() {
    let s = Session::start("ES256");
    let answer = send(s.http.post(s.url("/login")).json(&admin())).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(
        answer.challenge.starts_with("DPoP "),
        "{}",
        answer.challenge
    );
    assert!(answer.body["access_token"].is_null(), "{}", answer.body);
}

#[tokio::test]
#[ignore = "needs node"]
async fn a_token_copied_without_its_key_is_refused() {
    let s = Session::start("ES256");
    let login = s.login(admin()).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let access = token(&login, "access_token");
    let refresh = token(&login, "refresh_token");

    // What curl would send with the copied token.
    let bearer = send(
        s.http
            .get(s.url("/protected"))
            .header("Authorization", format!("Bearer {access}")),
    )
    .await;
    assert_eq!(bearer.status, 401, "{}", bearer.body);
    assert!(bearer.body["logged_in_as"].is_null());

    // The right scheme, but no proof.
    let no_proof = send(
        s.http
            .get(s.url("/protected"))
            .header("Authorization", dpop_authorization(&access)),
    )
    .await;
    assert_eq!(no_proof.status, 401, "{}", no_proof.body);
    assert!(
        no_proof.challenge.starts_with("DPoP "),
        "{}",
        no_proof.challenge
    );

    // A valid proof, by the thief's own key: the thumbprint is not the token's `cnf.jkt`.
    for alg in ["ES256", "PS256"] {
        let thief = s.node.generate(alg);
        let stolen = s.with_key(&thief, "GET", "/protected", &access).await;
        assert_eq!(stolen.status, 401, "{alg}: {}", stolen.body);
        assert!(
            stolen.challenge.contains("invalid_token"),
            "{alg}: {}",
            stolen.challenge
        );
        let stolen_refresh = s.with_key(&thief, "POST", "/refresh", &refresh).await;
        assert_eq!(stolen_refresh.status, 401, "{alg}: {}", stolen_refresh.body);
        assert!(stolen_refresh.body["access_token"].is_null());
    }

    // The owner's requests still work.
    let owner = s.call("GET", "/protected", &access).await;
    assert_eq!(owner.status, 200, "{}", owner.body);
}

#[tokio::test]
#[ignore = "needs node"]
async fn a_proof_is_used_once() {
    let s = Session::start("ES256");
    let login = s.login(admin()).await;
    let access = token(&login, "access_token");
    let proof = s.proof_by(&s.key, "GET", "/protected", Some(&access));
    let request = || {
        s.http
            .get(s.url("/protected"))
            .header("Authorization", dpop_authorization(&access))
            .header("DPoP", proof.clone())
    };
    assert_eq!(send(request()).await.status, 200);
    let replayed = send(request()).await;
    assert_eq!(replayed.status, 401, "{}", replayed.body);
    assert!(
        replayed.challenge.contains("invalid_dpop_proof"),
        "{}",
        replayed.challenge
    );
}

#[tokio::test]
#[ignore = "needs node"]
async fn a_proof_for_another_route_is_refused() {
    // The proof says `GET <base>/protected` was meant; it is sent to `/refresh`.
    let s = Session::start("ES256");
    let login = s.login(admin()).await;
    let refresh = token(&login, "refresh_token");
    let proof = s.proof_by(&s.key, "GET", "/protected", Some(&refresh));
    let answer = send(
        s.http
            .post(s.url("/refresh"))
            .header("Authorization", dpop_authorization(&refresh))
            .header("DPoP", proof),
    )
    .await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(
        answer.challenge.contains("invalid_dpop_proof"),
        "{}",
        answer.challenge
    );
}
