//! End to end in headless Chromium: the `locations` example's page logs in (the cookies are set),
//! calls a protected POST with the CSRF header read from the `csrf_access_token` cookie (200) and
//! without it (401), and logs out (the cookies are cleared). The `sessions` example's page refreshes
//! twice under refresh-token rotation: each response replaces the refresh cookie and its CSRF cookie.
//! The `dpop` example's page makes a non-extractable ES256 key with WebCrypto, keeps it in
//! IndexedDB, signs its own DPoP proofs, logs in, calls a protected route and refreshes; the token
//! read out of the page is refused from a plain HTTP client.
//!
//! Marked `#[ignore = "needs Chromium"]`: `.ci/run` runs it with `--ignored` (and installs Debian's
//! chromium when missing).

use crate::support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

fn chromium() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("CHROMIUM") {
        return Some(path.into());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| {
            ["chromium", "chromium-browser", "google-chrome"].map(|name| dir.join(name))
        })
        .find(|candidate| candidate.is_file())
}

/// The text of `<pre id="result">` in Chromium's dump of the page after its script ran.
fn page_result(dom: &str) -> Option<Value> {
    let start = dom.find("<pre id=\"result\">")? + "<pre id=\"result\">".len();
    let end = start + dom[start..].find("</pre>")?;
    let text = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&text).ok()
}

/// Starts `example`, loads its page with `?autorun=1` in headless Chromium and returns what the
/// page's script recorded.
fn autorun_page(example: &str) -> Value {
    let server = support::server::start(example);
    autorun_page_of(&server, example)
}

/// Loads `server`'s page with `?autorun=1` in headless Chromium (a fresh profile) and returns
/// what the page's script recorded; the server keeps running.
fn autorun_page_of(server: &support::server::Server, example: &str) -> Value {
    let url = format!("{}/?autorun=1", server.base);
    let output = chromium_run(example, &url, &["--disable-quic", "--dump-dom"]);
    let dom = String::from_utf8_lossy(&output.stdout);
    page_result(&dom).unwrap_or_else(|| {
        panic!(
            "no result on the page; chromium stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
#[ignore = "needs Chromium"]
fn cookie_flow_in_headless_chromium() {
    let result = autorun_page("locations");

    assert_eq!(result["done"], true, "{result}");
    assert_eq!(result.get("error"), None, "{result}");
    // The JWT cookie is HttpOnly: the page sees only the CSRF cookie.
    let after_login = result["cookie_after_login"].as_str().unwrap_or_default();
    assert!(after_login.starts_with("csrf_access_token="), "{result}");
    assert!(!after_login.contains("access_token_cookie"), "{result}");
    assert_eq!(
        result["with_csrf"],
        json!({"status": 200, "body": {"foo": "bar"}})
    );
    assert_eq!(
        result["without_csrf"],
        json!({"status": 401, "body": {"msg": "Missing CSRF token"}})
    );
    assert_eq!(
        result["cookie_after_logout"], "",
        "logout clears the cookies: {result}"
    );
    assert_eq!(result["after_logout"]["status"], 401, "{result}");
    assert_eq!(
        result["after_logout"]["body"]["msg"],
        "Missing JWT in headers, cookies, json or query_string (Missing Authorization Header; \
         Missing cookie \"access_token_cookie\"; Invalid content-type. Must be application/json.; \
         Missing 'jwt' query paramater)"
    );
}

#[test]
#[ignore = "needs Chromium"]
fn rotated_refresh_cookies_in_headless_chromium() {
    let result = autorun_page("sessions");
    assert_eq!(result["done"], true, "{result}");
    assert_eq!(result.get("error"), None, "{result}");
    assert_eq!(result["login"]["status"], 200, "{result}");
    let csrf = |step: &str| result[step].as_str().unwrap_or_default().to_string();
    // Each refresh answers 200 and replaces the readable CSRF cookie of the refresh token; the
    // second refresh only passes if the browser holds the new refresh cookie and the new CSRF
    // value together (the old token is retired, the old CSRF value does not match the new one).
    for step in ["first_refresh", "second_refresh"] {
        assert_eq!(
            result[step],
            json!({"status": 200, "body": {"refreshed": true}}),
            "{result}"
        );
    }
    let values = [
        csrf("csrf_after_login"),
        csrf("csrf_after_first_refresh"),
        csrf("csrf_after_second_refresh"),
    ];
    assert!(values.iter().all(|v| !v.is_empty()), "{result}");
    assert_ne!(values[0], values[1], "{result}");
    assert_ne!(values[1], values[2], "{result}");
    // The HttpOnly refresh cookie is never visible to the page.
    assert!(
        !result["cookie"]
            .as_str()
            .unwrap_or_default()
            .contains("refresh_token_cookie"),
        "{result}"
    );
    // The access cookie set by the refresh route works: one live session, the current one.
    assert_eq!(result["sessions"]["status"], 200, "{result}");
    let sessions = result["sessions"]["body"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(sessions.len(), 1, "{result}");
    assert_eq!(sessions[0]["current"], true, "{result}");
}

/// Runs headless Chromium on `url` with `args` (and a throwaway profile); its output.
fn chromium_run(name: &str, url: &str, args: &[&str]) -> std::process::Output {
    let browser = chromium()
        .expect("Chromium is not on PATH (apt-get install chromium), or set CHROMIUM=<path>");
    let profile = std::env::temp_dir().join(format!(
        "jwt-runtime-chromium-{name}-{}",
        std::process::id()
    ));
    let output = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=15000",
        ])
        .args(args)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", browser.display()));
    let _ = std::fs::remove_dir_all(&profile);
    output
}

/// Swagger UI of the `openapi` example with the admin operation opened (deep link): the page
/// shows the operation's lock (its security requirement), its policy and its documented refusals
/// with their example bodies, and a screenshot of it is taken. `UPDATE_SCREENSHOTS=1` writes the
/// screenshot to docs/openapi-swagger.png (the README's picture).
#[test]
#[ignore = "needs Chromium"]
fn swagger_ui_shows_the_security_and_the_refusals() {
    let server = support::server::start("openapi");
    let url = format!("{}/docs/#/default/get_api_admin", server.base);
    let size = "--window-size=1280,1900";

    let dom = chromium_run("swagger-dom", &url, &[size, "--dump-dom"]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    for shown in [
        "/api/admin",
        "JWT policy: an access token in headers, cookies; roles: admin (any).",
        "authorization__btn",
        "Missing role: admin",
        "Token revocation store unavailable",
    ] {
        assert!(dom.contains(shown), "Swagger UI does not show {shown:?}");
    }

    let shot = std::env::temp_dir().join(format!("jwt-runtime-swagger-{}.png", std::process::id()));
    let screenshot = format!("--screenshot={}", shot.display());
    let out = chromium_run("swagger-shot", &url, &[size, &screenshot]);
    let png = std::fs::read(&shot).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}); chromium stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let _ = std::fs::remove_file(&shot);
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi-swagger.png");
        std::fs::write(docs, &png).unwrap();
    }
}

/// A DPoP proof (RFC 9449) by a key that is not the page's: `tests/keys/ec256.pem`, signed here.
fn proof_by_another_key(method: &str, htu: &str, token: &str) -> String {
    use base64::Engine as _;
    use jsonwebtoken::{jwk::Jwk, Algorithm, EncodingKey, Header};
    // The process-wide jsonwebtoken crypto provider, installed by a manager as in production
    // (with both backends unified, as under `cargo test --workspace`, none is picked alone).
    jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("x".repeat(32)))
        .expect("a default config with a 32-byte secret builds");
    let pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/keys/ec256.pem"))
        .expect("tests/keys/ec256.pem");
    let key = EncodingKey::from_ec_pem(&pem).expect("an EC key");
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(Jwk::from_encoding_key(&key, Algorithm::ES256).expect("its public JWK"));
    let ath = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let claims = json!({
        "jti": support::unique("jti"),
        "htm": method,
        "htu": htu,
        "iat": iat,
        "ath": ath,
    });
    jsonwebtoken::encode(&header, &claims, &key).expect("signed")
}

#[tokio::test]
#[ignore = "needs Chromium"]
async fn dpop_key_in_the_browser_and_a_copied_token() {
    let server = support::server::start("dpop");
    let result = autorun_page_of(&server, "dpop");
    assert_eq!(result["done"], true, "{result}");
    assert_eq!(result.get("error"), None, "{result}");

    // The private key cannot be read by any script; IndexedDB holds that very key object.
    assert_eq!(result["key_created"], true, "{result}");
    assert_eq!(result["private_key_extractable"], false, "{result}");
    assert_eq!(result["stored_private_key_extractable"], false, "{result}");
    assert_eq!(
        result["stored_thumbprint"], result["thumbprint"],
        "{result}"
    );

    assert_eq!(result["login"]["status"], 200, "{result}");
    assert_eq!(result["login"]["body"]["token_type"], "DPoP", "{result}");
    assert_eq!(
        result["protected"],
        json!({"status": 200, "body": {"logged_in_as": "admin"}, "www_authenticate": null}),
        "{result}"
    );
    assert_eq!(result["refresh"]["status"], 200, "{result}");
    assert_eq!(
        result["after_refresh"],
        json!({"status": 200, "body": {"logged_in_as": "admin"}, "www_authenticate": null}),
        "{result}"
    );

    // The token read out of the page is bound to the page's key (the thumbprint the page computed).
    let token = result["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_ne!(
        token,
        result["login_access_token"].as_str().unwrap_or_default()
    );
    let claims: Value = {
        use base64::Engine as _;
        let segment = token.split('.').nth(1).unwrap_or_default();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(segment)
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    };
    assert_eq!(claims["cnf"]["jkt"], result["thumbprint"], "{claims}");

    // Copied out of the page, it fails from a plain HTTP client: as curl would send it, under the
    // DPoP scheme without a proof, and with a proof by the copier's own key.
    let http = reqwest::Client::new();
    let url = format!("{}/protected", server.base);
    let attempts = [
        (
            "Bearer",
            http.get(&url)
                .header("Authorization", format!("Bearer {token}")),
        ),
        (
            "DPoP without a proof",
            http.get(&url)
                .header("Authorization", format!("DPoP {token}")),
        ),
        (
            "DPoP with another key",
            http.get(&url)
                .header("Authorization", format!("DPoP {token}"))
                .header("DPoP", proof_by_another_key("GET", &url, &token)),
        ),
    ];
    for (what, request) in attempts {
        let response = request.send().await.expect("the example answers");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or_default();
        assert_eq!(status, 401, "{what}: {body}");
        assert!(body.get("logged_in_as").is_none(), "{what}: {body}");
    }
}
