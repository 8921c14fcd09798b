//! An OAuth resource server's public face: [`ResourceMetadata`], the RFC 9728
//! protected-resource metadata document, served from what the manager was configured with, and
//! the builder's [`bearer_challenge`](JwtManagerBuilder::bearer_challenge).

use poem::http::{header, Method, StatusCode};
use poem::{Endpoint, Request, Response};

use super::builder::JwtManagerBuilder;
use super::manager::JwtManager;
use crate::vocabulary::ConfigError;

/// The endpoint serving this resource's RFC 9728 metadata (`application/json`, to `GET` and
/// `HEAD`): `resource` (`JWT_RESOURCE`), `authorization_servers`, `scopes_supported`,
/// `bearer_methods_supported` (from the token locations: `header` for `Authorization: Bearer`,
/// `query` for an `access_token` query parameter) and `resource_documentation`. Mount it at
/// [`JwtManager::resource_metadata_path`]; clients such as MCP clients find it through the
/// `resource_metadata` of the 401 challenge (`JWT_BEARER_CHALLENGE`).
///
/// ```
/// use jwt_runtime::{JwtConfig, JwtManager};
/// use poem::{EndpointExt, Route};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let jwt = JwtManager::new(JwtConfig {
///     bearer_challenge: true,
///     resource: Some("https://api.example.com/notes".into()),
///     authorization_servers: vec!["https://login.example.com".into()],
///     scopes_supported: vec!["notes:read".into(), "notes:write".into()],
///     ..JwtConfig::default().with_secret("k".repeat(32))
/// })?;
/// let path = jwt.resource_metadata_path().unwrap();
/// assert_eq!(path, "/.well-known/oauth-protected-resource/notes");
/// let app = Route::new()
///     .at(path, jwt.resource_metadata_endpoint()?)
///     .with(jwt.clone());
///
/// let resp = poem::test::TestClient::new(app).get(path).send().await;
/// resp.assert_json(serde_json::json!({
///     "resource": "https://api.example.com/notes",
///     "authorization_servers": ["https://login.example.com"],
///     "scopes_supported": ["notes:read", "notes:write"],
///     "bearer_methods_supported": ["header"],
/// })).await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ResourceMetadata {
    document: String,
}

impl Endpoint for ResourceMetadata {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let method = req.method();
        if method != Method::GET && method != Method::HEAD {
            return Ok(Response::builder()
                .status(StatusCode::METHOD_NOT_ALLOWED)
                .header(header::ALLOW, "GET, HEAD")
                .finish());
        }
        Ok(Response::builder()
            .content_type("application/json")
            .body(self.document.clone()))
    }
}

impl JwtManager {
    /// The path of this resource's RFC 9728 metadata document (`/.well-known/oauth-protected-resource`
    /// followed by the path of `JWT_RESOURCE`, RFC 9728 §3.1), or `None` without `JWT_RESOURCE`.
    /// See [`ResourceMetadata`].
    pub fn resource_metadata_path(&self) -> Option<&str> {
        let metadata = self.engine().settings.resource.metadata.as_ref()?;
        Some(&metadata.path)
    }

    /// The endpoint serving this resource's RFC 9728 metadata; see [`ResourceMetadata`].
    ///
    /// # Errors
    /// `JWT_RESOURCE` is not set: there is no document to serve.
    pub fn resource_metadata_endpoint(&self) -> Result<ResourceMetadata, ConfigError> {
        match &self.engine().settings.resource.metadata {
            Some(metadata) => Ok(ResourceMetadata {
                document: metadata.document.clone(),
            }),
            None => Err(ConfigError::new(
                "JWT_RESOURCE",
                "the protected-resource metadata needs this resource's identifier (an https URL)",
            )),
        }
    }
}

impl JwtManagerBuilder {
    /// Sends RFC 6750 challenges (`WWW-Authenticate: Bearer realm="<realm>", error=...`) with
    /// refusals: `JWT_BEARER_CHALLENGE` with `JWT_BEARER_REALM`. Bodies and statuses stay
    /// flask-jwt-extended's.
    ///
    /// ```
    /// use jwt_runtime::{JwtConfig, JwtManager};
    /// use poem::{handler, EndpointExt};
    ///
    /// #[jwt_runtime::jwt_required]
    /// #[handler]
    /// async fn notes() -> &'static str { "notes" }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let jwt = JwtManager::builder(JwtConfig::default().with_secret("k".repeat(32)))
    ///     .bearer_challenge("notes")
    ///     .build()?;
    /// let resp = poem::test::TestClient::new(notes.with(jwt)).get("/").send().await;
    /// resp.assert_status(poem::http::StatusCode::UNAUTHORIZED);
    /// resp.assert_header("www-authenticate", "Bearer realm=\"notes\"");
    /// # Ok(())
    /// # }
    /// ```
    pub fn bearer_challenge(self, realm: impl Into<String>) -> Self {
        self.map_config(|config| {
            config.bearer_challenge = true;
            config.bearer_realm = Some(realm.into());
        })
    }
}
