//! The tutorial's "Custom error messages" block as an app of its own: every response callback reshaped,
//! the admin claim added by the claims loader, and a blocklist.
//!
//! Routes: `POST /login` (`{"username": ...}`; identity 1 is the admin), `GET /protected`,
//! `GET /fresh` (fresh tokens only), `GET /admin` (`is_admin` claim), `DELETE /logout` (revoke).

mod common;

use jwt_runtime::stores::MemoryBlocklist;
use jwt_runtime::{additional_claims, admin_required, jwt_required, Jwt, JwtManager};
use poem::http::StatusCode;
use poem::web::Json;
use poem::{delete, get, handler, post, EndpointExt, IntoResponse, Response, Route};
use serde_json::{json, Value};

/// The tutorial's claims loader: identity 1 is the admin.
#[additional_claims]
async fn add_claims_to_jwt(identity: &Value) -> Value {
    json!({ "is_admin": identity == &json!(1) })
}

fn reply(body: Value) -> Response {
    Json(body)
        .with_status(StatusCode::UNAUTHORIZED)
        .into_response()
}

#[derive(serde::Deserialize)]
struct Login {
    user_id: i64,
}

#[handler]
async fn login(jwt: JwtManager, Json(login): Json<Login>) -> poem::Result<Json<Value>> {
    let access_token = jwt.create_access_token(login.user_id).await?;
    Ok(Json(json!({ "access_token": access_token })))
}

#[jwt_required]
#[handler]
async fn protected(token: Jwt) -> Json<Value> {
    Json(json!({ "hello": token.identity(), "is_admin": token.get("is_admin") }))
}

#[jwt_required(fresh)]
#[handler]
async fn fresh() -> Json<Value> {
    Json(json!({ "fresh": true }))
}

#[admin_required(claim = "is_admin")]
#[handler]
async fn admin() -> Json<Value> {
    Json(json!({ "admin": true }))
}

#[jwt_required]
#[handler]
async fn logout(token: Jwt, jwt: JwtManager) -> poem::Result<Json<Value>> {
    jwt.revoke_token(token.raw()).await?;
    Ok(Json(json!({ "msg": "Access token revoked" })))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let mut config = common::config();
    // Integer identities, as in the tutorial (flask-jwt-extended now wants strings by default).
    config.verify_sub = false;
    // `DELETE /logout` revokes: the store is registered (the tutorial's blocklist loader), which
    // also refuses tokens that carry no `jti` to revoke them by.
    let jwt = JwtManager::builder(config)
        .blocklist(MemoryBlocklist::new())
        .additional_claims(add_claims_to_jwt)
        .expired_token_loader(|_, _| reply(json!({"message": "The token has expired.", "error": "token_expired"})))
        .invalid_token_loader(|_error| {
            reply(json!({"message": "Signature verification failed.", "error": "invalid_token"}))
        })
        .unauthorized_loader(|_error| {
            reply(json!({"description": "Request does not contain an access token.", "error": "authorization_required"}))
        })
        .needs_fresh_token_loader(|_, _| {
            reply(json!({"description": "The token is not fresh.", "error": "fresh_required"}))
        })
        .revoked_token_loader(|_, _| reply(json!({"description": "The token has been revoked.", "error": "token_revoked"}))).build()?;
    let app = Route::new()
        .at("/login", post(login))
        .at("/protected", get(protected))
        .at("/fresh", get(fresh))
        .at("/admin", get(admin))
        .at("/logout", delete(logout))
        .with(jwt);
    common::serve(app).await?;
    Ok(())
}
