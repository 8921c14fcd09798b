//! The tutorial's advice on revoking refresh tokens, as an app of its own:
//! - `DELETE /logout` revokes the access token *and* its refresh token, whose jti the access
//!   token carries (the tutorial's option 2), so the frontend needs one request;
//! - `DELETE /logout_everywhere` revokes every token of the user issued until now (option 3).
//!
//! The revocations live in the default in-memory store, or in SQL when `DATABASE_URL` is set.

mod common;

use jwt_runtime::stores::SqlBlocklist;
use jwt_runtime::{jwt_required, Identity, Jwt, JwtManager};
use poem::{delete, get, handler, post, web::Json, Endpoint, EndpointExt, Route};
use serde_json::{json, Value};

/// An access token that knows its refresh token, and that refresh token.
#[handler]
async fn login(jwt: JwtManager) -> poem::Result<Json<Value>> {
    let refresh_token = jwt.create_refresh_token("example_user").await?;
    let refresh_claims = jwt.decode_token(&refresh_token)?;
    let access_token = jwt
        .create_access_token("example_user")
        .additional_claims(
            json!({ "refresh_jti": refresh_claims["jti"], "refresh_exp": refresh_claims["exp"] }),
        )
        .await?;
    Ok(Json(
        json!({ "access_token": access_token, "refresh_token": refresh_token }),
    ))
}

#[jwt_required(refresh)]
#[handler]
async fn refresh(identity: Identity, jwt: JwtManager) -> poem::Result<Json<Value>> {
    let access_token = jwt.create_access_token(identity.value()).await?;
    Ok(Json(json!({ "access_token": access_token })))
}

/// Revokes both tokens with one request.
#[jwt_required]
#[handler]
async fn logout(token: Jwt, jwt: JwtManager) -> poem::Result<Json<Value>> {
    jwt.revoke_token(token.raw()).await?;
    if let Some(refresh_jti) = token.get("refresh_jti") {
        let refresh_token = json!({
            "jti": refresh_jti,
            "type": "refresh",
            "sub": token.identity(),
            "iat": token.get("iat"),
            "exp": token.get("refresh_exp"),
        });
        if let Value::Object(claims) = refresh_token {
            jwt.revoke_token(&claims).await?;
        }
    }
    Ok(Json(json!({ "msg": "Access and refresh tokens revoked" })))
}

#[jwt_required]
#[handler]
async fn logout_everywhere(identity: Identity, jwt: JwtManager) -> poem::Result<Json<Value>> {
    // The identity itself (not its value): it knows whose user it is, this app's or a trusted
    // issuer's.
    jwt.revoke_all_for_user(&identity).await?;
    Ok(Json(json!({ "msg": "Logged out everywhere" })))
}

#[jwt_required]
#[handler]
async fn protected() -> Json<Value> {
    Json(json!({ "foo": "bar" }))
}

/// The example's routes under `jwt`.
pub(crate) fn app(jwt: JwtManager) -> impl Endpoint {
    Route::new()
        .at("/login", post(login))
        .at("/refresh", post(refresh))
        .at("/logout", delete(logout))
        .at("/logout_everywhere", delete(logout_everywhere))
        .at("/protected", get(protected))
        .with(jwt)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let mut jwt = JwtManager::builder(common::config());
    if let Ok(url) = std::env::var("DATABASE_URL") {
        jwt = jwt.blocklist(SqlBlocklist::connect(&url).await?);
    }
    common::serve(app(jwt.build()?)).await?;
    Ok(())
}
