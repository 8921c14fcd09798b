//! The tutorial's first example ("Basic usage"): log in, then call a protected route with the token.
//!
//! ```text
//! cargo run --example basic
//! curl -X POST localhost:5000/login -H 'content-type: application/json' -d '{"username":"admin","password":"123456"}'
//! curl localhost:5000/protected -H 'Authorization: Bearer <jwt>'
//! ```

mod common;

use jwt_runtime::{jwt_required, Identity, JwtManager};
use poem::{get, handler, post, web::Json, EndpointExt, IntoResponse, Response, Route};
use serde_json::json;

/// Checks the tutorial's credentials and returns `{"access_token": "Bearer <jwt>"}`, as the
/// tutorial does (its client sends the value as the whole `Authorization` header).
#[handler]
async fn login(jwt: JwtManager, Json(creds): Json<common::Credentials>) -> poem::Result<Response> {
    if !creds.is_tutorial_admin() {
        return Ok(common::bad_credentials());
    }
    let token = jwt.create_access_token(creds.username).await?;
    Ok(Json(json!({ "access_token": format!("Bearer {token}") })).into_response())
}

#[jwt_required]
#[handler]
async fn protected(identity: Identity) -> Json<serde_json::Value> {
    Json(json!({ "logged_in_as": identity }))
}

/// The example's routes under `jwt`.
fn app(jwt: JwtManager) -> impl poem::Endpoint {
    Route::new()
        .at("/login", post(login))
        .at("/protected", get(protected))
        .with(jwt)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let jwt = JwtManager::new(common::config())?;
    common::serve(app(jwt)).await?;
    Ok(())
}
