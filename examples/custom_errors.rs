//! The tutorial's "Changing default behaviors" example: only the expired-token response is customised.

mod common;

use jwt_runtime::{jwt_required, JwtManager};
use poem::{get, handler, http::StatusCode, post, web::Json, EndpointExt, IntoResponse, Route};
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    // Returns a custom response when an expired token reaches a protected route; the callback
    // gets the token's header and payload.
    let jwt = JwtManager::builder(common::config())
        .expired_token_loader(|_jwt_header, _jwt_payload| {
            Json(json!({"code": "dave", "err": "I can't let you do that"}))
                .with_status(StatusCode::UNAUTHORIZED)
                .into_response()
        })
        .build()?;
    let app = Route::new()
        .at("/login", post(login))
        .at("/protected", get(protected))
        .with(jwt);
    common::serve(app).await?;
    Ok(())
}
