//! The tutorial's "Explicit refreshing with refresh tokens" example: 3-second access tokens, 10-second refresh
//! tokens, and a refresh route that only refresh tokens may call.

mod common;

use jwt_runtime::{jwt_required, Expiry, Identity, JwtConfig, JwtManager, JwtManagerBuilder};
use poem::{get, handler, post, web::Json, Endpoint, EndpointExt, Route};
use serde_json::{json, Value};

#[handler]
async fn login(jwt: JwtManager) -> poem::Result<Json<Value>> {
    let access_token = jwt.create_access_token("example_user").await?;
    let refresh_token = jwt.create_refresh_token("example_user").await?;
    Ok(Json(
        json!({ "access_token": access_token, "refresh_token": refresh_token }),
    ))
}

/// `refresh`: only refresh tokens may call this route.
#[jwt_required(refresh)]
#[handler]
async fn refresh(identity: Identity, jwt: JwtManager) -> poem::Result<Json<Value>> {
    let access_token = jwt.create_access_token(identity.value()).await?;
    Ok(Json(json!({ "access_token": access_token })))
}

#[jwt_required]
#[handler]
async fn protected() -> Json<Value> {
    Json(json!({ "foo": "bar" }))
}

/// The example's manager over `config`: 3-second access tokens, 10-second refresh tokens.
pub(crate) fn manager(mut config: JwtConfig) -> JwtManagerBuilder {
    config.access_token_expires = Expiry::Seconds(3);
    config.refresh_token_expires = Expiry::Seconds(10);
    JwtManager::builder(config)
}

/// The example's routes under `jwt`.
pub(crate) fn app(jwt: JwtManager) -> impl Endpoint {
    Route::new()
        .at("/login", post(login))
        .at("/refresh", post(refresh))
        .at("/protected", get(protected))
        .with(jwt)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let jwt = manager(common::config()).build()?;
    common::serve(app(jwt)).await?;
    Ok(())
}
