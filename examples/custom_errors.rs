//! The tutorial's "Changing default behaviors" example: only the expired-token response is customised.

mod common;

use jwt_runtime::{jwt_required, JwtConfig, JwtManager, JwtManagerBuilder};
use poem::{get, handler, http::StatusCode, post, web::Json};
use poem::{Endpoint, EndpointExt, IntoResponse, Route};
use serde_json::{json, Value};

#[handler]
async fn login(jwt: JwtManager) -> poem::Result<Json<Value>> {
    let access_token = jwt.create_access_token("example_user").await?;
    Ok(Json(json!({ "access_token": access_token })))
}

#[jwt_required]
#[handler]
async fn protected() -> Json<Value> {
    Json(json!({ "hello": "world" }))
}

/// The example's manager over `config`: a custom response when an expired token reaches a
/// protected route (the callback gets the token's header and payload).
pub(crate) fn manager(config: JwtConfig) -> JwtManagerBuilder {
    JwtManager::builder(config).expired_token_loader(|_jwt_header, _jwt_payload| {
        Json(json!({"code": "dave", "err": "I can't let you do that"}))
            .with_status(StatusCode::UNAUTHORIZED)
            .into_response()
    })
}

/// The example's routes under `jwt`.
pub(crate) fn app(jwt: JwtManager) -> impl Endpoint {
    Route::new()
        .at("/login", post(login))
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
