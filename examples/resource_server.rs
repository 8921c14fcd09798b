//! An OAuth resource server (feature `remote-jwks`): a notes API that mints no token of its own
//! and verifies the access tokens an identity provider issues for it. It finds the provider by
//! OpenID Connect discovery of `OIDC_ISSUER` (its `jwks_uri`, refreshed in the background and
//! refetched when a token names an unknown `kid`), requires each token's `iss` to be that issuer
//! and its `aud` to name this API (`JWT_DECODE_AUDIENCE`, the resource indicator or client id the
//! provider knows it by).
//!
//! ```text
//! GET  /public   no token
//! GET  /notes    a token of the provider for this audience with the scope notes:read
//! POST /notes    {"text": "..."}, a token with the scope notes:write
//! GET  /.well-known/oauth-protected-resource   RFC 9728 metadata: this API, its provider, scopes
//! ```
//!
//! A refusal carries an RFC 6750 challenge (`WWW-Authenticate: Bearer realm="notes",
//! error="insufficient_scope", scope="notes:write", resource_metadata="..."`) beside the usual
//! `{"msg": ...}` body. `JWT_RESOURCE` is this API's URL as clients know it (by default the
//! first audience when it is a URL, else `http://127.0.0.1:$PORT`).
//!
//! ```text
//! OIDC_ISSUER=https://auth.example.com/realms/acme JWT_DECODE_AUDIENCE=https://notes.example/api \
//!   JWT_ALGORITHM=RS256 PORT=5000 cargo run --example resource_server --features remote-jwks
//! TOKEN=$(curl -s -u my-client:its-secret -d grant_type=client_credentials \
//!   -d resource=https://notes.example/api -d scope=notes:read \
//!   https://auth.example.com/realms/acme/token | jq -r .access_token)   # the provider's token endpoint
//! curl -H "Authorization: Bearer $TOKEN" localhost:5000/notes
//! ```
//!
//! `JWT_ALGORITHM` is the provider's signing algorithm (RS256 when unset); list more in
//! `JWT_DECODE_ALGORITHMS`. Plain `http` is allowed only for a loopback issuer (a provider on
//! this machine, as in the tests); any other issuer must be `https`.
//!

mod common;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use jwt_runtime::{jwt_required, Identity, JwtConfig, JwtManager};
use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{get, handler, EndpointExt, IntoResponse, Response, Route};
use serde::Deserialize;
use serde_json::{json, Value};

/// The notes, in memory.
#[derive(Clone, Default)]
struct Notes(Arc<Mutex<Vec<Value>>>);

#[derive(Deserialize)]
struct NewNote {
    text: Option<String>,
}

/// Where RFC 9728 clients look for the metadata of a resource at a host's root.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The longest note accepted, in characters.
const MAX_NOTE: usize = 1000;

#[handler]
async fn public() -> Json<Value> {
    Json(json!({ "msg": "anyone may read this" }))
}

#[jwt_required(scopes = "notes:read")]
#[handler]
async fn list_notes(identity: Identity, Data(notes): Data<&Notes>) -> Json<Value> {
    let notes = notes.0.lock().map(|n| n.clone()).unwrap_or_default();
    Json(json!({ "notes": notes, "reader": identity }))
}

#[jwt_required(scopes = "notes:write")]
#[handler]
async fn add_note(
    identity: Identity,
    Data(notes): Data<&Notes>,
    Json(body): Json<NewNote>,
) -> Response {
    let text = body.text.unwrap_or_default();
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_NOTE {
        return Json(json!({ "msg": format!("text must hold 1 to {MAX_NOTE} characters") }))
            .with_status(StatusCode::BAD_REQUEST)
            .into_response();
    }
    let Ok(mut notes) = notes.0.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let note = json!({ "id": notes.len() + 1, "text": text, "author": identity });
    notes.push(note.clone());
    Json(note).with_status(StatusCode::CREATED).into_response()
}

/// `http://<loopback host>[:port][/path]`: the only issuers reached over plain http.
fn is_loopback_http(issuer: &str) -> bool {
    let Some(rest) = issuer.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(host, _)| host),
        None => authority
            .split_once(':')
            .map_or(authority, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The configuration from the environment, checked: exits with a message naming the variable.
fn resource_server_config() -> (JwtConfig, String) {
    let fail = |msg: String| -> ! {
        eprintln!("configuration error: {msg}");
        std::process::exit(2)
    };
    let issuer = std::env::var("OIDC_ISSUER")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| fail("OIDC_ISSUER must name the identity provider's issuer".into()));
    let mut config = JwtConfig::from_env().unwrap_or_else(|e| fail(e.to_string()));
    if config.decode_audience.is_none() {
        fail(
            "JWT_DECODE_AUDIENCE must name this API as the provider knows it (its resource \
             indicator or client id): without it a token the provider issued to any other \
             application would be accepted here"
                .into(),
        );
    }
    if std::env::var_os("JWT_ALGORITHM").is_none() {
        config.algorithm = "RS256".into();
    }
    config.jwks_allow_http = is_loopback_http(&issuer);
    // RFC 6750 challenges and RFC 9728 metadata: this API, its provider, its scopes.
    config.bearer_challenge = true;
    config.bearer_realm.get_or_insert_with(|| "notes".into());
    if config.resource.is_none() {
        let audience = config.decode_audience.iter().flatten().next();
        let url = audience.filter(|a| a.starts_with("https://") || is_loopback_http(a));
        let port = std::env::var("PORT").unwrap_or_else(|_| "5000".into());
        config.resource = Some(url.cloned().unwrap_or(format!("http://127.0.0.1:{port}")));
    }
    if config.authorization_servers.is_empty() {
        config.authorization_servers = vec![issuer.clone()];
    }
    if config.scopes_supported.is_empty() {
        config.scopes_supported = vec!["notes:read".into(), "notes:write".into()];
    }
    if issuer.starts_with("http://") && !config.jwks_allow_http {
        fail(format!(
            "OIDC_ISSUER \"{issuer}\": plain http is allowed only for a loopback issuer \
             (127.0.0.1, localhost, [::1]); use https"
        ));
    }
    (config, issuer)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let (config, issuer) = resource_server_config();
    let jwt = JwtManager::builder(config)
        .issuer_discovery(issuer)
        .build_async()
        .await
        .unwrap_or_else(|e| {
            // The provider is unreachable or its discovery document or keys are unusable.
            eprintln!("configuration error: {e}");
            std::process::exit(2)
        });
    // RFC 9728 section 3.1 puts the document of `https://host/api` at
    // `/.well-known/oauth-protected-resource/api`; clients that only know the host ask the root.
    let metadata_path = jwt.resource_metadata_path().unwrap_or_default().to_string();
    let mut app = Route::new()
        .at("/public", get(public))
        .at("/notes", get(list_notes).post(add_note))
        .at(&metadata_path, jwt.resource_metadata_endpoint()?);
    if metadata_path != WELL_KNOWN {
        app = app.at(WELL_KNOWN, jwt.resource_metadata_endpoint()?);
    }
    let app = app.data(Notes::default()).with(jwt);
    common::serve(app).await?;
    Ok(())
}
