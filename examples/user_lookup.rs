//! The tutorial's "Automatic user loading" example: users in SQLite (sqlx), passwords hashed with Argon2,
//! `user_identity` turning the user object into its id for the token, and a
//! `#[user_lookup_loader]` that loads the user back on every protected request.
//!
//! `DATABASE_URL` (default an in-memory SQLite database), seeded with the tutorial's admin user.
//! Unlike the tutorial, `/protected` never returns the password hash.
//!
//! Migrating from the Python app: the tutorial stores the integer `user.id` as `sub`, which only
//! works there with `JWT_VERIFY_SUB = False`. This port writes the id as a string (`"1"`, what
//! RFC 7519 and PyJWT expect), and its loader reads both forms, so tokens the Python app minted
//! keep working when this example runs with `JWT_VERIFY_SUB=false`:
//! `JWT_VERIFY_SUB=false JWT_SECRET_KEY=<the Python app's secret> cargo run --example user_lookup`.

mod common;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use jwt_runtime::hooks::app_data;
use jwt_runtime::{jwt_required, user_lookup_loader, CurrentUser, JwtManager, VerifiedJwt};
use poem::web::{Data, Json};
use poem::{
    get, handler, http::StatusCode, post, EndpointExt, IntoResponse, Request, Response, Route,
};
use serde::Serialize;
use serde_json::json;
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
struct User {
    id: i64,
    username: String,
    #[serde(skip_serializing)]
    password_hash: String,
}

impl User {
    fn check_password(&self, password: &str) -> bool {
        PasswordHash::new(&self.password_hash).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
    }
}

/// Runs on every protected request that carries a valid token, after every other check.
#[user_lookup_loader]
async fn user_lookup_callback(
    token: &VerifiedJwt,
    req: &Request,
) -> Result<Option<User>, Box<dyn std::error::Error + Send + Sync>> {
    tracing::info!(header = ?token.header(), claims = ?token.claims(), "user_lookup_callback");
    // A forgotten `.data(pool)` is a server fault (500, logged), not a 401 for the client.
    let pool = app_data::<SqlitePool>(req)?;
    // "1" from this app, 1 from tokens the Python tutorial minted (with JWT_VERIFY_SUB=false).
    let identity = token.identity();
    let Some(id) = identity
        .as_i64()
        .or_else(|| identity.as_str().and_then(|s| s.parse::<i64>().ok()))
    else {
        return Ok(None);
    };
    sqlx::query_as("SELECT id, username, password_hash FROM users WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(Into::into)
}

#[handler]
async fn login(
    jwt: JwtManager,
    pool: Data<&SqlitePool>,
    Json(creds): Json<common::Credentials>,
) -> poem::Result<Response> {
    let user: Option<User> =
        sqlx::query_as("SELECT id, username, password_hash FROM users WHERE username = ?")
            .bind(creds.username.unwrap_or_default())
            .fetch_optional(pool.0)
            .await
            .map_err(poem::error::InternalServerError)?;
    let Some(user) =
        user.filter(|u| u.check_password(creds.password.as_deref().unwrap_or_default()))
    else {
        return Ok(Json(json!("Wrong username or password"))
            .with_status(StatusCode::UNAUTHORIZED)
            .into_response());
    };
    // The user object goes in; `user_identity` keeps only its id for the token.
    let access_token = jwt.create_access_token(&user).await?;
    Ok(Json(json!({ "access_token": access_token })).into_response())
}

#[jwt_required]
#[handler]
async fn protected(current_user: CurrentUser<User>) -> Json<serde_json::Value> {
    Json(json!({ "id": current_user.id, "username": current_user.username }))
}

async fn database() -> Result<SqlitePool, Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite::memory:".into());
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect(&url)
        .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL)",
    )
    .execute(&pool)
    .await?;
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(b"123456", &salt)
        .map_err(|e| e.to_string())?
        .to_string();
    sqlx::query("INSERT OR IGNORE INTO users (username, password_hash) VALUES ('admin', ?)")
        .bind(hash)
        .execute(&pool)
        .await?;
    Ok(pool)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let pool = database().await?;
    let jwt = JwtManager::builder(common::config())
        .user_identity(|user| {
            tracing::info!(user = %user, "user_identity_lookup");
            user["id"].to_string().into()
        })
        .build()?;
    let app = Route::new()
        .at("/login", post(login))
        .at("/protected", get(protected))
        .with(jwt)
        .data(pool);
    common::serve(app).await?;
    Ok(())
}
