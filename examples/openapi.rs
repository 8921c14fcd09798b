//! Beyond the tutorial: a poem-openapi API protected by the same macros, with Swagger UI.
//! `#[jwt_runtime::openapi]` above `#[OpenApi]` reads `#[jwt_required]` / `#[admin_required]` on
//! the operations; the document at `/openapi.json` declares the bearer and cookie schemes, marks
//! the protected operations (Swagger UI's "Authorize" button fills the header in), and lists on
//! each what its protection can answer (401/403/422/503 with `{"msg": ...}` and the message as
//! example) and its policy (`JWT policy: ...` in its description).
//!
//! ```text
//! cargo run --example openapi --features openapi
//! POST /api/login {"username": "ann"}   -> {"access_token": ...}   (no password: a demo)
//!      users: ann (roles ["admin"]), bob (no role)
//! GET  /api/me          bearer or cookie token   -> {"user": "ann", "roles": [...]}
//! GET  /api/admin       the `admin` role         (403 {"msg": "Missing role: admin"})
//! GET  /api/greeting    optional token
//! GET  /api/health      public
//! GET  /docs            Swagger UI;  GET /openapi.json  the document
//! ```

mod common;

use jwt_runtime::{Identity, Jwt, JwtManager};
use poem::{EndpointExt, Route};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi, OpenApiService};
use serde_json::json;

#[derive(Object)]
struct Login {
    username: String,
}

#[derive(Object)]
struct Tokens {
    access_token: String,
}

#[derive(ApiResponse)]
enum LoginResponse {
    /// The access token.
    #[oai(status = 200)]
    Ok(Json<Tokens>),
    /// Unknown user.
    #[oai(status = 401)]
    Unauthorized(Json<serde_json::Value>),
}

struct Api;

#[jwt_runtime::openapi(locations = "headers, cookies")]
#[OpenApi(prefix_path = "/api")]
impl Api {
    /// Log in (no password: a demo).
    #[oai(path = "/login", method = "post")]
    async fn login(&self, jwt: JwtManager, body: Json<Login>) -> poem::Result<LoginResponse> {
        let roles = match body.username.as_str() {
            "ann" => json!(["admin"]),
            "bob" => json!([]),
            _ => {
                return Ok(LoginResponse::Unauthorized(Json(
                    json!({"msg": "Bad username or password"}),
                )))
            }
        };
        let access_token = jwt
            .create_access_token(&body.username)
            .additional_claims(json!({ "roles": roles }))
            .await?;
        Ok(LoginResponse::Ok(Json(Tokens { access_token })))
    }

    /// Who am I: any valid access token.
    #[jwt_required]
    #[oai(path = "/me", method = "get")]
    async fn me(&self, jwt: Jwt) -> Json<serde_json::Value> {
        Json(json!({ "user": jwt.identity(), "roles": jwt.raw().get("roles") }))
    }

    /// Admins only: the `roles` claim holds `admin`.
    #[jwt_required(roles = "admin")]
    #[oai(path = "/admin", method = "get")]
    async fn admin(&self, identity: Identity) -> PlainText<String> {
        PlainText(format!("welcome, admin {identity}"))
    }

    /// Anyone; a token, if sent, must be valid.
    #[jwt_required(optional)]
    #[oai(path = "/greeting", method = "get")]
    async fn greeting(&self, identity: Option<Identity>) -> PlainText<String> {
        match identity {
            Some(who) => PlainText(format!("hello {who}")),
            None => PlainText("hello stranger".into()),
        }
    }

    /// Public.
    #[oai(path = "/health", method = "get")]
    async fn health(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let jwt = JwtManager::new(common::config())?;
    let api = OpenApiService::new(Api, "jwt-runtime demo", "1.0");
    let docs = api.swagger_ui();
    let spec = api.spec_endpoint();
    let app = Route::new()
        .nest("/", api)
        .nest("/docs", docs)
        .at("/openapi.json", spec)
        .with(jwt);
    common::serve(app).await?;
    Ok(())
}
