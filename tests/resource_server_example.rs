//! `examples/resource_server.rs` against a real identity provider (panva's `oidc-provider`, see
//! `tests/support/oidc-provider/`): the example finds the provider by discovery, and the provider's
//! client-credentials tokens for its audience read and write notes; tokens for another audience,
//! no token, and startup without an audience or with a plain-http issuer elsewhere than loopback
//! are refused; scopes, the RFC 6750 challenge and the RFC 9728 document as a client sees them.
//! Ignored unless run with `--ignored` ("needs node"; `.ci/run` installs it).

use crate::support;

use serde_json::{json, Value};
use support::oidc_provider::{OidcProvider, AUDIENCE};
use support::server::{exit_message, start_with_env};

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json body"))
}

#[tokio::test]
#[ignore = "needs node"]
async fn resource_server_verifies_the_providers_tokens() {
    let provider = OidcProvider::start();
    let api = start_with_env(
        "resource_server",
        &[
            ("OIDC_ISSUER", provider.issuer.as_str()),
            ("JWT_DECODE_AUDIENCE", AUDIENCE),
            ("JWT_ALGORITHM", "ES256"),
        ],
    );
    let http = reqwest::Client::new();
    let at = |path: &str| format!("{}{path}", api.base);

    assert_eq!(
        send(http.get(at("/public"))).await,
        (200, json!({"msg": "anyone may read this"}))
    );
    assert_eq!(
        send(http.get(at("/notes"))).await,
        (401, json!({"msg": "Missing Authorization Header"}))
    );
    // RFC 9728: the resource (the audience), its provider, its scopes; at the root and at the
    // path section 3.1 gives for the resource `https://notes.example/api`.
    let metadata = json!({
        "resource": AUDIENCE,
        "authorization_servers": [provider.issuer],
        "scopes_supported": ["notes:read", "notes:write"],
        "bearer_methods_supported": ["header"],
    });
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/api",
    ] {
        assert_eq!(
            send(http.get(at(path))).await,
            (200, metadata.clone()),
            "{path}"
        );
    }

    let writer = provider
        .token("ES256", AUDIENCE, "notes:read notes:write")
        .await;
    let added = http
        .post(at("/notes"))
        .bearer_auth(&writer)
        .json(&json!({"text": "buy milk"}));
    assert_eq!(
        send(added).await,
        (
            201,
            json!({"id": 1, "text": "buy milk", "author": "client-ES256"})
        )
    );
    let blank = http
        .post(at("/notes"))
        .bearer_auth(&writer)
        .json(&json!({"text": "  "}));
    assert_eq!(
        send(blank).await,
        (400, json!({"msg": "text must hold 1 to 1000 characters"}))
    );

    // A token with the read scope only: it reads, and writing is refused with the scope named,
    // in the body and in the RFC 6750 challenge.
    let reader = provider.token("ES256", AUDIENCE, "notes:read").await;
    let write = http
        .post(at("/notes"))
        .bearer_auth(&reader)
        .json(&json!({"text": "sneaky"}))
        .send()
        .await
        .expect("request");
    assert_eq!(write.status().as_u16(), 403);
    let challenge = write
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        challenge.starts_with("Bearer realm=\"notes\", error=\"insufficient_scope\"")
            && challenge.contains("scope=\"notes:write\"")
            && challenge.contains("resource_metadata=\""),
        "{challenge}"
    );
    assert_eq!(
        write.json::<Value>().await.expect("json"),
        json!({"msg": "Missing scope: notes:write"})
    );
    assert_eq!(
        send(http.get(at("/notes")).bearer_auth(&reader)).await,
        (
            200,
            json!({
                "notes": [{"id": 1, "text": "buy milk", "author": "client-ES256"}],
                "reader": "client-ES256"
            })
        )
    );

    // Issued by the same provider with the same key, for another resource server.
    let elsewhere = provider
        .token("ES256", "https://other.example/api", "notes:read")
        .await;
    assert_eq!(
        send(http.get(at("/notes")).bearer_auth(&elsewhere)).await,
        (422, json!({"msg": "Audience doesn't match"}))
    );
}

#[test]
#[ignore = "needs node"]
fn resource_server_refuses_to_start_without_an_audience_or_over_remote_http() {
    let provider = OidcProvider::start();
    let no_audience = exit_message(
        "resource_server",
        &[("OIDC_ISSUER", provider.issuer.as_str())],
    )
    .expect("exits without JWT_DECODE_AUDIENCE");
    assert!(
        no_audience.contains("JWT_DECODE_AUDIENCE must name this API"),
        "{no_audience}"
    );
    let no_issuer = exit_message("resource_server", &[("JWT_DECODE_AUDIENCE", AUDIENCE)])
        .expect("exits without OIDC_ISSUER");
    assert!(no_issuer.contains("OIDC_ISSUER must name"), "{no_issuer}");
    for remote in [
        "http://127.0.0.1.nip.example",
        "http://idp.example/realms/acme",
        "http://127.0.0.1@idp.example",
    ] {
        let message = exit_message(
            "resource_server",
            &[("OIDC_ISSUER", remote), ("JWT_DECODE_AUDIENCE", AUDIENCE)],
        )
        .expect("a plain-http issuer off loopback refuses startup");
        assert!(
            message.contains("plain http is allowed only for a loopback issuer"),
            "{message}"
        );
    }
    // The provider down: discovery fails, the example exits naming the option.
    let issuer = provider.issuer.clone();
    drop(provider);
    let down = exit_message(
        "resource_server",
        &[
            ("OIDC_ISSUER", issuer.as_str()),
            ("JWT_DECODE_AUDIENCE", AUDIENCE),
        ],
    )
    .expect("exits while the provider is down");
    assert!(
        down.contains("JWT_DECODE_ISSUER_DISCOVERY: discovery at"),
        "{down}"
    );
}
