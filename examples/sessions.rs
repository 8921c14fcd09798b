//! Beyond flask-jwt-extended: refresh-token rotation with reuse detection, and sessions a user can see
//! and end (`JWT_REFRESH_ROTATION`). Log in from two "devices" (the `User-Agent` is the session's
//! label), list the sessions, refresh (each refresh token works once: the response carries its
//! replacement), watch a replayed refresh token end its whole session, and "log out other
//! devices". `GET /` serves a page that does the cookie flow in a browser.
//!
//! ```text
//! curl -s -XPOST localhost:5000/login -H 'User-Agent: laptop' -H 'Content-Type: application/json' \
//!      -d '{"username": "admin", "password": "123456"}'
//! ```

mod common;

use jwt_runtime::{
    jwt_required, session_of, Identity, Jwt, JwtManager, Location, RotatedRefreshToken,
    TokenLocation,
};
use poem::web::{Html, Json, Path};
use poem::{delete, get, handler, post, EndpointExt, IntoResponse, Request, Response, Route};
use serde_json::{json, Value};

/// The session's label: the client's `User-Agent`.
fn device(req: &Request) -> String {
    req.headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown device")
        .to_string()
}

#[handler]
async fn login(
    jwt: JwtManager,
    req: &Request,
    Json(credentials): Json<common::Credentials>,
) -> poem::Result<Response> {
    if !credentials.is_tutorial_admin() {
        return Ok(common::bad_credentials());
    }
    let tokens = jwt.login("admin").fresh(true).label(device(req)).await?;
    Ok(Json(json!({
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "session": tokens.session,
    }))
    .into_response())
}

/// The browser's login: both tokens in HttpOnly cookies, their CSRF values in readable ones.
#[handler]
async fn login_with_cookies(jwt: JwtManager, req: &Request) -> poem::Result<Response> {
    let tokens = jwt.login("admin").label(device(req)).await?;
    let mut response = Json(json!({"session": tokens.session})).into_response();
    jwt.set_access_cookies(&mut response, &tokens.access_token)?;
    jwt.set_refresh_cookies(&mut response, &tokens.refresh_token)?;
    Ok(response)
}

/// Each refresh token works once. A header client gets the replacement in the body; a cookie
/// client gets it as a new refresh cookie (and CSRF cookie) set by the library.
#[jwt_required(refresh)]
#[handler]
async fn refresh(
    identity: Identity,
    rotated: RotatedRefreshToken,
    location: TokenLocation,
    jwt: JwtManager,
) -> poem::Result<Response> {
    // Part of the rotated session: the manager of a rotating request belongs to it.
    let access_token = jwt.create_access_token(identity.value()).await?;
    if location.0 == Location::Cookies {
        let mut response = Json(json!({"refreshed": true})).into_response();
        jwt.set_access_cookies(&mut response, &access_token)?;
        return Ok(response);
    }
    Ok(Json(json!({
        "access_token": access_token,
        "refresh_token": rotated.token(),
    }))
    .into_response())
}

/// The user's live sessions; `current` marks the one this token belongs to.
#[jwt_required]
#[handler]
async fn sessions(token: Jwt, jwt: JwtManager) -> poem::Result<Json<Value>> {
    let current = session_of(token.raw());
    let list: Vec<Value> = jwt
        .sessions(token.identity().value())
        .await?
        .into_iter()
        .map(|s| {
            json!({
                "session": s.session,
                "label": s.label,
                "created_at": s.created_at,
                "last_refreshed": s.last_refreshed,
                "current": Some(s.session.as_str()) == current,
            })
        })
        .collect();
    Ok(Json(json!(list)))
}

/// Ends one session ("log out that device").
#[jwt_required]
#[handler]
async fn end_session(
    identity: Identity,
    Path(id): Path<String>,
    jwt: JwtManager,
) -> poem::Result<Json<Value>> {
    let ended = jwt.end_session(identity.value(), &id).await?;
    Ok(Json(json!({ "ended": ended })))
}

/// "Log out other devices": every session but this token's.
#[jwt_required]
#[handler]
async fn logout_others(token: Jwt, jwt: JwtManager) -> poem::Result<Json<Value>> {
    let current = session_of(token.raw()).unwrap_or_default();
    let ended = jwt
        .end_other_sessions(token.identity().value(), current)
        .await?;
    Ok(Json(json!({ "ended": ended })))
}

#[jwt_required]
#[handler]
async fn protected(identity: Identity) -> Json<Value> {
    Json(json!({ "logged_in_as": identity.value() }))
}

#[handler]
fn page() -> Html<&'static str> {
    Html(include_str!("static/sessions.html"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let mut config = common::config();
    config.refresh_rotation = true;
    config.token_location = ["headers", "cookies"].map(String::from).to_vec();
    // Only for plain-HTTP local runs; in production cookies must be Secure.
    config.cookie_secure = false;
    let jwt = JwtManager::new(config)?;
    let app = Route::new()
        .at("/", get(page))
        .at("/login", post(login))
        .at("/login_with_cookies", post(login_with_cookies))
        .at("/refresh", post(refresh))
        .at("/sessions", get(sessions))
        .at("/sessions/:id", delete(end_session))
        .at("/logout_others", post(logout_others))
        .at("/protected", get(protected))
        .with(jwt);
    common::serve(app).await?;
    Ok(())
}
