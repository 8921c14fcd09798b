//! The runtime under another name (`auth`): every macro expands against it.

use auth::{jwt_required, user_lookup_loader, CurrentUser, Identity, Jwt, VerifiedJwt};
use poem::handler;

/// The claims of this app.
#[derive(serde::Deserialize, auth::JwtClaims)]
pub struct Claims {
    /// A custom claim.
    pub role: String,
}

/// A user.
pub struct User(pub String);

/// Loads the user named by the token.
#[user_lookup_loader]
pub async fn load(token: &VerifiedJwt) -> Option<User> {
    token.identity().as_str().map(|name| User(name.to_string()))
}

/// Adds the role claim.
#[auth::additional_claims]
pub async fn role(_identity: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({"role": "editor"})
}

/// A protected handler taking every token parameter.
#[jwt_required]
#[handler]
pub async fn protected(identity: Identity, jwt: Jwt<Claims>, user: CurrentUser<User>) -> String {
    format!("{identity} {} {}", jwt.role, user.0)
}

/// An admin route.
#[auth::admin_required]
#[handler]
pub async fn admin() -> &'static str {
    "admin"
}

#[cfg(test)]
mod tests {
    use poem::{EndpointExt, Route};

    #[tokio::test]
    async fn macros_expand_against_a_renamed_runtime() {
        let jwt = auth::JwtManager::builder(
            auth::JwtConfig::default().with_secret("0123456789abcdef0123456789abcdef"),
        )
        .additional_claims(super::role)
        .build()
        .unwrap();
        let token = jwt.create_access_token("alice").await.unwrap();
        let app = Route::new()
            .at("/protected", super::protected)
            .at("/admin", super::admin)
            .with(jwt);
        let cli = poem::test::TestClient::new(app);
        let resp = cli
            .get("/protected")
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await;
        resp.assert_text("alice editor alice").await;
        let resp = cli
            .get("/admin")
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await;
        resp.assert_status(poem::http::StatusCode::FORBIDDEN);
    }
}
