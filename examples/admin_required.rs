//! The tutorial's "Custom decorators" example: `admin_required` as a first-class policy.

mod common;

use jwt_runtime::{admin_required, JwtManager};
use poem::{get, handler, post, web::Json, EndpointExt, Route};
use serde_json::{json, Value};

#[handler]
async fn login(jwt: JwtManager) -> poem::Result<Json<Value>> {
    let token = jwt
        .create_access_token("admin_user")
        .additional_claims(json!({ "is_administrator": true }))
        .await?;
    Ok(Json(json!({ "access_token": token })))
}

/// A valid token whose `is_administrator` claim is true, else 403 `{"msg": "Admins only!"}`.
#[admin_required]
#[handler]
async fn protected() -> Json<Value> {
    Json(json!({ "foo": "bar" }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let jwt = JwtManager::new(common::config())?;
    let app = Route::new()
        .at("/login", post(login))
        .at("/protected", get(protected))
        .with(jwt);
    common::serve(app).await?;
    Ok(())
}
