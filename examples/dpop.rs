//! Beyond flask-jwt-extended: sender-constrained tokens (DPoP, RFC 9449). The tutorial's login,
//! refresh and protected routes, where every request carries a `DPoP` proof signed by a key the
//! client holds, and the tokens are bound to that key (`cnf.jkt`): a token copied out of a log, a
//! proxy or a page is refused without the key. `GET /` serves a page that keeps a non-extractable
//! WebCrypto key in IndexedDB and signs its proofs itself.
//!
//! `JWT_DPOP=required` unless the environment says otherwise. Without `JWT_DPOP_PUBLIC_URL` the
//! proofs' `htu` is checked against `http://<Host><path>` for a loopback Host (development); behind
//! a proxy, set `JWT_DPOP_PUBLIC_URL` to the URL the clients use.
//!
//! ```text
//! cargo run --example dpop        # then open http://127.0.0.1:5000/
//! ```
//!
//! A client sends `Authorization: DPoP <token>` and `DPoP: <proof>`; the proof's `htu` is the
//! request's URL without query, `htm` its method, `ath` the hash of the token sent.

mod common;

use jwt_runtime::{jwt_required, DpopMode, DpopProof, Identity, JwtConfig, JwtManager};
use poem::web::{Html, Json};
use poem::{get, handler, post, Endpoint, EndpointExt, IntoResponse, Response, Route};
use serde_json::{json, Value};

/// The tutorial's login, with a proof: both tokens are bound to the proof's key.
#[handler]
async fn login(
    jwt: JwtManager,
    proof: DpopProof,
    Json(credentials): Json<common::Credentials>,
) -> poem::Result<Response> {
    if !credentials.is_tutorial_admin() {
        return Ok(common::bad_credentials());
    }
    let access_token = jwt.create_access_token("admin").bind(&proof).await?;
    let refresh_token = jwt.create_refresh_token("admin").bind(&proof).await?;
    Ok(Json(json!({
        "access_token": access_token,
        "refresh_token": refresh_token,
        "token_type": "DPoP",
    }))
    .into_response())
}

/// A bound refresh token and a proof by its key: a new access token bound to the same key.
#[jwt_required(refresh, dpop)]
#[handler]
async fn refresh(
    identity: Identity,
    proof: DpopProof,
    jwt: JwtManager,
) -> poem::Result<Json<Value>> {
    let access_token = jwt
        .create_access_token(identity.value())
        .bind(&proof)
        .await?;
    Ok(Json(
        json!({ "access_token": access_token, "token_type": "DPoP" }),
    ))
}

#[jwt_required(dpop)]
#[handler]
async fn protected(identity: Identity) -> Json<Value> {
    Json(json!({ "logged_in_as": identity.value() }))
}

/// The browser page: a non-extractable key in IndexedDB, proofs signed with WebCrypto.
#[handler]
fn page() -> Html<&'static str> {
    Html(include_str!("static/dpop.html"))
}

/// The example's configuration: `config` with `JWT_DPOP=required` unless `dpop_set` (the
/// environment chose a policy).
pub(crate) fn with_dpop_default(mut config: JwtConfig, dpop_set: bool) -> JwtConfig {
    if !dpop_set {
        config.dpop = DpopMode::Required;
    }
    config
}

/// The example's routes under `jwt`.
pub(crate) fn app(jwt: JwtManager) -> impl Endpoint {
    Route::new()
        .at("/", get(page))
        .at("/login", post(login))
        .at("/refresh", post(refresh))
        .at("/protected", get(protected))
        .with(jwt)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let config = with_dpop_default(common::config(), std::env::var_os("JWT_DPOP").is_some());
    let jwt = JwtManager::new(config)?;
    common::serve(app(jwt)).await?;
    Ok(())
}
