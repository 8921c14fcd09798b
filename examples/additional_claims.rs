//! The tutorial's "Storing additional data in JWTs" example, with its final step: an additional-claims
//! loader whose claims the call site's `additional_claims` override.

mod common;

use jwt_runtime::{additional_claims, jwt_required, Jwt, JwtClaims, JwtManager};
use poem::{get, handler, post, web::Json, EndpointExt, IntoResponse, Response, Route};
use serde::Deserialize;
use serde_json::{json, Value};

/// Runs on every token creation; the call site's claims win on conflicts (`aud`, `foo`).
#[additional_claims]
async fn add_claims_to_access_token(identity: &Value) -> Value {
    json!({
        "aud": "some_audience2",
        "foo": "bar2",
        "upcase_name": identity.as_str().unwrap_or_default().to_uppercase(),
    })
}

#[handler]
async fn login(jwt: JwtManager, Json(creds): Json<common::Credentials>) -> poem::Result<Response> {
    if !creds.is_tutorial_admin() {
        return Ok(common::bad_credentials());
    }
    let token = jwt
        .create_access_token(creds.username)
        .additional_claims(json!({ "aud": "some_audience", "foo": "bar" }))
        .await?;
    Ok(Json(json!({ "access_token": token })).into_response())
}

/// The custom claims, typed; the reserved ones stay available through `jwt.reserved()`.
#[derive(Debug, Deserialize, JwtClaims)]
struct ExampleClaims {
    foo: String,
    upcase_name: Option<String>,
}

#[jwt_required]
#[handler]
async fn protected(jwt: Jwt<ExampleClaims>) -> Json<Value> {
    tracing::info!(claims = %serde_json::Value::Object(jwt.raw().clone()), upcase_name = ?jwt.upcase_name, "jwt");
    Json(json!({ "foo": jwt.foo }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let jwt = JwtManager::builder(common::config())
        .additional_claims(add_claims_to_access_token)
        .build()?;
    let app = Route::new()
        .at("/login", post(login))
        .at("/protected", get(protected))
        .with(jwt);
    common::serve(app).await?;
    Ok(())
}
