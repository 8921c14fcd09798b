//! The tutorial's database revocation example: `DELETE /logout` inserts the token's jti (with its
//! type, user and `created_at`) into the `jwt_token_blocklist` table.
//!
//! `DATABASE_URL` (default `sqlite::memory:`; `postgres://...` works too).

mod common;

use jwt_runtime::stores::SqlBlocklist;
use jwt_runtime::{jwt_required, Expiry, Jwt, JwtManager};
use poem::{delete, get, handler, post, web::Json, EndpointExt, Route};
use serde_json::{json, Value};

#[handler]
async fn login(jwt: JwtManager) -> poem::Result<Json<Value>> {
    let access_token = jwt.create_access_token("example_user").await?;
    Ok(Json(json!({ "access_token": access_token })))
}

#[jwt_required]
#[handler]
async fn modify_token(token: Jwt, jwt: JwtManager) -> poem::Result<Json<Value>> {
    jwt.revoke_token(token.raw()).await?;
    Ok(Json(json!({ "msg": "JWT revoked" })))
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
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite::memory:".into());
    let jwt = JwtManager::builder(config)
        .blocklist(SqlBlocklist::connect(&url).await?)
        .build()?;
    let app = Route::new()
        .at("/login", post(login))
        .at("/logout", delete(modify_token))
        .at("/protected", get(protected))
        .with(jwt);
    common::serve(app).await?;
    Ok(())
}
