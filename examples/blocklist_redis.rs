//! The tutorial's Redis revocation example: `DELETE /logout` stores the token's jti in Redis with
//! a TTL (`SET ... EX`), and every instance sharing that Redis rejects the token from then on.
//!
//! Needs Redis: `REDIS_URL` (default `redis://127.0.0.1:6379`).

mod common;

use jwt_runtime::stores::RedisBlocklist;
use jwt_runtime::{jwt_required, Expiry, Jwt, JwtManager};
use poem::{delete, get, handler, post, web::Json, EndpointExt, Route};
use serde_json::{json, Value};

#[handler]
async fn login(jwt: JwtManager) -> poem::Result<Json<Value>> {
    let access_token = jwt.create_access_token("example_user").await?;
    Ok(Json(json!({ "access_token": access_token })))
}

/// Revokes the access token of the request.
#[jwt_required]
#[handler]
async fn logout(token: Jwt, jwt: JwtManager) -> poem::Result<Json<Value>> {
    jwt.revoke_token(token.raw()).await?;
    Ok(Json(json!({ "msg": "Access token revoked" })))
}

#[jwt_required]
#[handler]
async fn protected() -> Json<Value> {
    Json(json!({ "hello": "world" }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let mut config = common::config();
    config.access_token_expires = Expiry::Seconds(3600);
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let jwt = JwtManager::builder(config)
        .blocklist(RedisBlocklist::connect(&url).await?)
        .build()?;
    let app = Route::new()
        .at("/login", post(login))
        .at("/logout", delete(logout))
        .at("/protected", get(protected))
        .with(jwt);
    common::serve(app).await?;
    Ok(())
}
