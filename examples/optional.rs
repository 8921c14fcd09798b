//! The tutorial's "Partially protecting routes" example: one route for both anonymous and logged-in users.

mod common;

use jwt_runtime::{jwt_required, Identity, JwtManager};
use poem::{get, handler, post, web::Json, EndpointExt, IntoResponse, Response, Route};
use serde_json::json;

#[handler]
async fn login(jwt: JwtManager, Json(creds): Json<common::Credentials>) -> poem::Result<Response> {
    if !creds.is_tutorial_admin() {
        return Ok(common::bad_credentials());
    }
    let token = jwt.create_access_token(creds.username).await?;
    Ok(Json(json!({ "access_token": token })).into_response())
}

/// A missing token means anonymous; an expired or invalid one is still refused.
///
/// The tutorial tests `if current_identity:`, so an identity Python finds falsy (an empty `sub`)
/// is anonymous too.
#[jwt_required(optional)]
#[handler]
async fn optionally_protected(identity: Option<Identity>) -> Json<serde_json::Value> {
    match identity.filter(|identity| is_truthy(identity.value())) {
        Some(identity) => Json(json!({ "logged_in_as": identity })),
        None => Json(json!({ "logged_in_as": "anonymous user" })),
    }
}

/// Python's truthiness of a JSON value.
fn is_truthy(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let jwt = JwtManager::new(common::config())?;
    let app = Route::new()
        .at("/login", post(login))
        .at("/optionally_protected", get(optionally_protected))
        .with(jwt);
    common::serve(app).await?;
    Ok(())
}
