//! The tutorial's "Token freshness pattern" example: logging in with a password gives a fresh token;
//! refreshing gives a non-fresh one; the sensitive route wants a fresh one.

mod common;

use jwt_runtime::{jwt_required, Expiry, Identity, JwtManager};
use poem::{get, handler, post, web::Json, EndpointExt, IntoResponse, Response, Route};
use serde_json::{json, Value};

/// The password was just checked: the access token is fresh.
#[handler]
async fn login(jwt: JwtManager, Json(creds): Json<common::Credentials>) -> poem::Result<Response> {
    if !creds.is_tutorial_admin() {
        return Ok(common::bad_credentials());
    }
    let access_token = jwt.create_access_token("example_user").fresh(true).await?;
    let refresh_token = jwt.create_refresh_token("example_user").await?;
    Ok(
        Json(json!({ "access_token": access_token, "refresh_token": refresh_token }))
            .into_response(),
    )
}

/// No password here: the new access token is not fresh.
#[jwt_required(refresh)]
#[handler]
async fn refresh(identity: Identity, jwt: JwtManager) -> poem::Result<Json<Value>> {
    let access_token = jwt
        .create_access_token(identity.value())
        .fresh(false)
        .await?;
    Ok(Json(json!({ "access_token": access_token })))
}

/// Only fresh tokens may call this route (401 `Fresh token required` otherwise).
#[jwt_required(fresh)]
#[handler]
async fn protected() -> Json<Value> {
    Json(json!({ "foo": "bar" }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let mut config = common::config();
    config.access_token_expires = Expiry::Seconds(3600);
    config.refresh_token_expires = Expiry::days(30);
    let jwt = JwtManager::new(config)?;
    let app = Route::new()
        .at("/login", post(login))
        .at("/refresh", post(refresh))
        .at("/protected", get(protected))
        .with(jwt);
    common::serve(app).await?;
    Ok(())
}
