//! The tutorial's "JWT locations" example: tokens in headers, cookies (with CSRF double submit), the
//! JSON body and the query string. `GET /` serves a small page that runs the tutorial's browser
//! JavaScript (login, a protected POST with the CSRF header, logout).

mod common;

use jwt_runtime::{jwt_required, JwtManager};
use poem::web::{Html, Json};
use poem::{get, handler, post, EndpointExt, IntoResponse, Response, Route};
use serde_json::json;

#[handler]
async fn login_without_cookies(jwt: JwtManager) -> poem::Result<Json<serde_json::Value>> {
    let access_token = jwt.create_access_token("example_user").await?;
    Ok(Json(json!({ "access_token": access_token })))
}

#[handler]
async fn login_with_cookies(jwt: JwtManager) -> poem::Result<Response> {
    let mut response = Json(json!({"msg": "login successful"})).into_response();
    let access_token = jwt.create_access_token("example_user").await?;
    jwt.set_access_cookies(&mut response, &access_token)?;
    Ok(response)
}

#[handler]
async fn logout_with_cookies(jwt: JwtManager) -> poem::Result<Response> {
    let mut response = Json(json!({"msg": "logout successful"})).into_response();
    jwt.unset_jwt_cookies(&mut response)?;
    Ok(response)
}

#[jwt_required]
#[handler]
async fn protected() -> Json<serde_json::Value> {
    Json(json!({"foo": "bar"}))
}

#[jwt_required(locations = "headers")]
#[handler]
async fn only_headers() -> Json<serde_json::Value> {
    Json(json!({"foo": "baz"}))
}

#[handler]
fn page() -> Html<&'static str> {
    Html(include_str!("static/cookies.html"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let mut config = common::config();
    config.token_location = ["headers", "cookies", "json", "query_string"]
        .map(String::from)
        .to_vec();
    // Only for plain-HTTP local runs; in production cookies must be Secure.
    config.cookie_secure = false;
    let jwt = JwtManager::new(config)?;
    let app = Route::new()
        .at("/", get(page))
        .at("/login_without_cookies", post(login_without_cookies))
        .at("/login_with_cookies", post(login_with_cookies))
        .at("/logout_with_cookies", post(logout_with_cookies))
        .at("/protected", get(protected).post(protected))
        .at("/only_headers", get(only_headers))
        .with(jwt);
    common::serve(app).await?;
    Ok(())
}
