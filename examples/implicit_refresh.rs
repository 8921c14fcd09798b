//! The tutorial's "Implicit refreshing with cookies" example: 3-second access tokens in cookies, replaced on
//! any protected response when they expire within 3 seconds (`JWT_IMPLICIT_REFRESH_WINDOW`),
//! which is the tutorial's `after_request` hook as a built-in feature.

mod common;

use jwt_runtime::{jwt_required, Expiry, JwtConfig, JwtManager, JwtManagerBuilder};
use poem::web::Json;
use poem::{get, handler, post, Endpoint, EndpointExt, IntoResponse, Response, Route};
use serde_json::json;

#[handler]
async fn login(jwt: JwtManager) -> poem::Result<Response> {
    let mut response = Json(json!({"msg": "login successful"})).into_response();
    let access_token = jwt.create_access_token("example_user").await?;
    jwt.set_access_cookies(&mut response, &access_token)?;
    Ok(response)
}

#[handler]
async fn logout(jwt: JwtManager) -> poem::Result<Response> {
    let mut response = Json(json!({"msg": "logout successful"})).into_response();
    jwt.unset_jwt_cookies(&mut response)?;
    Ok(response)
}

#[jwt_required]
#[handler]
async fn protected() -> Json<serde_json::Value> {
    Json(json!({"foo": "bar"}))
}

/// The example's manager over `config`: 3-second access tokens in cookies, refreshed when they
/// expire within 3 seconds.
pub(crate) fn manager(mut config: JwtConfig) -> JwtManagerBuilder {
    config.cookie_secure = false;
    config.token_location = vec!["cookies".into()];
    config.access_token_expires = Expiry::Seconds(3);
    config.implicit_refresh_window = Some(3);
    JwtManager::builder(config)
}

/// The example's routes under `jwt`.
pub(crate) fn app(jwt: JwtManager) -> impl Endpoint {
    Route::new()
        .at("/login", post(login))
        .at("/logout", post(logout))
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
