//! Beyond the tutorial: a route group and role checks. One `JwtRequired` middleware protects the
//! whole `/admin` tree (admins only); `/editor/publish` takes an editor or an admin through
//! `#[jwt_required(roles = ...)]`; `/health` stays public.
//!
//! ```text
//! POST /login {"username": "ann"}  -> {"access_token": ...}   (no password: a demo)
//!      users: ann (roles ["admin"]), eve (roles "editor"), bob (no role)
//! GET  /admin/stats, GET /admin/whoami   (admins only; 403 {"msg": "Missing role: admin"})
//! GET  /editor/publish                   (editor or admin)
//! GET  /health                           (public)
//! ```

mod common;

use jwt_runtime::{jwt_required, Guarded, Identity, Jwt, JwtManager, JwtRequired, Roles};
use poem::{get, handler, post, web::Json, EndpointExt, Route};
use serde_json::{json, Value};

#[handler]
async fn login(
    jwt: JwtManager,
    Json(body): Json<common::Credentials>,
) -> poem::Result<poem::Response> {
    use poem::IntoResponse;
    let roles = match body.username.as_deref() {
        Some("ann") => json!(["admin"]),
        Some("eve") => json!("editor"),
        Some("bob") => json!([]),
        _ => return Ok(common::bad_credentials()),
    };
    let username = body.username.unwrap_or_default();
    let token = jwt
        .create_access_token(&username)
        .additional_claims(json!({ "roles": roles }))
        .await?;
    Ok(Json(json!({ "access_token": token })).into_response())
}

/// Under the `/admin` group: the group verified the token and the role.
#[handler]
async fn stats(Guarded(identity): Guarded<Identity>) -> Json<Value> {
    Json(json!({ "stats_for": identity, "users": 3 }))
}

#[handler]
async fn whoami(Guarded(jwt): Guarded<Jwt>) -> Json<Value> {
    Json(json!({ "sub": jwt.identity(), "roles": jwt.raw().get("roles") }))
}

/// One handler, its own role check.
#[jwt_required(roles = "editor, admin")]
#[handler]
async fn publish(identity: Identity) -> Json<Value> {
    Json(json!({ "published_by": identity }))
}

#[handler]
async fn health() -> &'static str {
    "ok"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let jwt = JwtManager::new(common::config())?;
    let admin = Route::new()
        .at("/stats", get(stats))
        .at("/whoami", get(whoami))
        .with(JwtRequired::new().policy(Roles::any(["admin"])));
    let app = Route::new()
        .at("/login", post(login))
        .nest("/admin", admin)
        .at("/editor/publish", get(publish))
        .at("/health", get(health))
        .with(jwt);
    common::serve(app).await?;
    Ok(())
}
