//! [`JwtManager`]: the handle applications hold. It delegates to the engine and operations, and is
//! the Poem middleware that makes itself reachable from every request of a route tree.

use std::sync::Arc;

use poem::{Endpoint, Response};

use super::revoke::UserRef;
use crate::config::JwtConfig;
use crate::engine::Engine;
use crate::operations::cookies::{CookieOptions, Cookies};
use crate::operations::mint::TokenBuilder;
use crate::vocabulary::{ConfigError, JsonObject, JwtError, TokenType};

/// The heart of the runtime: config, keys, store and hooks, shared by every request.
///
/// Build it once with [`JwtManager::new`] or [`JwtManager::builder`] (which check the config),
/// attach it to the routes with `.with(manager)`, and take it as a handler argument to create
/// tokens. Cloning is cheap; every clone is the same manager.
///
/// ```
/// use jwt_runtime::{JwtConfig, JwtManager};
/// use poem::{handler, web::Json, EndpointExt, Route, post};
///
/// #[handler]
/// async fn login(jwt: JwtManager) -> poem::Result<Json<serde_json::Value>> {
///     let token = jwt.create_access_token("admin").await?;
///     Ok(Json(serde_json::json!({ "access_token": token })))
/// }
///
/// let jwt = JwtManager::new(JwtConfig::default().with_secret("a-32-byte-or-longer-random-secret!!")).unwrap();
/// let app = Route::new().at("/login", post(login)).with(jwt);
/// ```
#[derive(Clone)]
pub struct JwtManager {
    engine: Arc<Engine>,
    /// The session of the rotating refresh request this manager was taken from: every token it
    /// mints belongs to it (see [`create_access_token`](Self::create_access_token)).
    session: Option<Arc<str>>,
}

impl JwtManager {
    /// A manager with the default store ([`MemoryBlocklist`](crate::stores::MemoryBlocklist)),
    /// the system clock and no hooks: `JwtManager::builder(config).build()`.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first option that cannot work.
    ///
    /// ```
    /// use jwt_runtime::{JwtConfig, JwtManager};
    /// let mut config = JwtConfig::default().with_secret("x".repeat(32));
    /// config.token_location = vec!["header".into()];
    /// assert_eq!(
    ///     JwtManager::new(config).unwrap_err().to_string(),
    ///     "JWT_TOKEN_LOCATION can only contain \"headers\", \"cookies\", \"query_string\", or \"json\""
    /// );
    /// ```
    pub fn new(config: JwtConfig) -> Result<Self, ConfigError> {
        Self::builder(config).build()
    }

    pub(crate) fn from_engine(engine: Arc<Engine>) -> Self {
        JwtManager {
            engine,
            session: None,
        }
    }

    /// This manager, minting for `session` (the session of the request it serves, which rotated).
    pub(crate) fn joining(mut self, session: Arc<str>) -> Self {
        self.session = Some(session);
        self
    }

    pub(crate) fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The validated configuration.
    pub fn config(&self) -> &JwtConfig {
        &self.engine.config
    }

    /// The current time of this manager's clock.
    pub fn now(&self) -> f64 {
        self.engine.now()
    }

    /// Starts an access token for `identity` (the reference's `create_access_token`); `.await`
    /// the builder to get the encoded token.
    ///
    /// On a refresh route that rotated (`JWT_REFRESH_ROTATION`), the manager the handler takes as
    /// an argument belongs to that request's session: the access token joins it without
    /// [`TokenBuilder::session`], and is refused once the session ends (a reuse,
    /// [`end_session`](Self::end_session)).
    ///
    /// ```
    /// use jwt_runtime::{jwt_required, Identity, JwtManager, RotatedRefreshToken};
    /// use poem::{handler, web::Json};
    /// use serde_json::{json, Value};
    ///
    /// #[jwt_required(refresh)]
    /// #[handler]
    /// async fn refresh(identity: Identity, rotated: RotatedRefreshToken, jwt: JwtManager) -> poem::Result<Json<Value>> {
    ///     // Part of the rotated session (its `fam` claim), with nothing to remember.
    ///     let access = jwt.create_access_token(identity.value()).await?;
    ///     Ok(Json(json!({"access_token": access, "refresh_token": rotated.token()})))
    /// }
    /// ```
    pub fn create_access_token(&self, identity: impl serde::Serialize) -> TokenBuilder {
        let builder = TokenBuilder::new(self.engine.clone(), TokenType::Access, identity);
        match &self.session {
            Some(session) => builder.session(session.as_ref()),
            None => builder,
        }
    }

    /// Starts a refresh token for `identity` (the reference's `create_refresh_token`).
    ///
    /// On a refresh route that rotated, the request's new refresh token is
    /// [`RotatedRefreshToken`](crate::RotatedRefreshToken): a second one minted here would start
    /// a session of its own that reuse detection of this one could not end, so awaiting it is a
    /// [`JwtError::TokenCreation`] (500, logged with the fix).
    pub fn create_refresh_token(&self, identity: impl serde::Serialize) -> TokenBuilder {
        if self.session.is_some() {
            let fix = "a refresh token minted on a rotating refresh request would escape its \
                       session's reuse detection: return the request's RotatedRefreshToken instead";
            tracing::error!(target: "jwt_runtime", "{fix}");
            return TokenBuilder::refused(self.engine.clone(), TokenType::Refresh, fix);
        }
        TokenBuilder::new(self.engine.clone(), TokenType::Refresh, identity)
    }

    /// Fully verifies a token outside a request (the reference's `decode_token`): signature,
    /// algorithm, exp/nbf/iat, aud/iss when configured, `sub` type and the identity claim.
    /// No type, freshness or revocation checks.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let jwt = jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("k".repeat(32))).unwrap();
    /// let token = jwt.create_access_token("alice").await.unwrap();
    /// let claims = jwt.decode_token(&token).unwrap();
    /// assert_eq!(claims["sub"], "alice");
    /// assert_eq!(jwt.decode_token("xxx").unwrap_err().to_string(), "Not enough segments");
    /// # }
    /// ```
    pub fn decode_token(&self, token: &str) -> Result<JsonObject, JwtError> {
        self.engine.decode(token)
    }

    /// The default response for `error` under this config: `{"<JWT_ERROR_MESSAGE_KEY>":
    /// "<message>"}` with the kind's status (or its `JWT_STATUS_CODES` override).
    pub fn error_response(&self, error: &JwtError) -> Response {
        self.engine.error_response(error)
    }

    /// Revokes the token with these verified claims until it can no longer be accepted (in the
    /// configured store).
    ///
    /// # Errors
    /// 422 `Missing claim: jti` when the claims carry no usable `jti` (nothing could name the
    /// token), or 503 when the store failed.
    pub async fn revoke_token(&self, claims: &JsonObject) -> Result<(), JwtError> {
        let info = self.engine.token_info(claims);
        if info.jti.is_none() {
            return Err(JwtError::invalid("Missing claim: jti"));
        }
        self.engine.store.revoke(&info).await.map_err(|e| {
            tracing::error!(target: "jwt_runtime", reason = %e, "revocation failed");
            JwtError::RevocationUnavailable
        })?;
        tracing::info!(target: "jwt_runtime", jti = info.jti.as_deref().unwrap_or_default(), token_type = %info.token_type, "token revoked");
        Ok(())
    }

    /// Revokes an encoded token (a refresh token sent at logout, say): it is verified first, so
    /// only this app's tokens are revoked; an expired token is refused (it can no longer be used
    /// anyway).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let jwt = jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("k".repeat(32))).unwrap();
    /// let refresh = jwt.create_refresh_token("alice").await.unwrap();
    /// jwt.revoke_encoded(&refresh).await.unwrap();
    /// # }
    /// ```
    ///
    /// # Errors
    /// The token does not verify, carries no `jti`, or the store failed.
    pub async fn revoke_encoded(&self, token: &str) -> Result<(), JwtError> {
        let claims = self.decode_token(token)?;
        self.revoke_token(&claims).await
    }

    /// Revokes every token of `user` issued until now ("log out everywhere"): in a handler pass
    /// the request's `&identity` (or `&jwt`), which works for this app's users and a trusted
    /// issuer's alike; `&json!(id)` names one of this app's own users; a trusted issuer's user
    /// without a token is [`UserRef::of_issuer`]. Own and foreign users never share a cut-off.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let jwt = jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("k".repeat(32))).unwrap();
    /// jwt.revoke_all_for_user(&serde_json::json!("alice")).await.unwrap();
    /// # }
    /// ```
    ///
    /// # Errors
    /// The store failed (503), or [`UserRef::of_issuer`] names an issuer this manager does not
    /// trust (500).
    pub async fn revoke_all_for_user<'u>(
        &self,
        user: impl Into<UserRef<'u>>,
    ) -> Result<(), JwtError> {
        let user = user.into().key(&self.engine)?;
        let now = self.engine.clock.unix_seconds();
        self.engine
            .store
            .revoke_user(&user, now)
            .await
            .map_err(|e| {
                tracing::error!(target: "jwt_runtime", reason = %e, "revocation failed");
                JwtError::RevocationUnavailable
            })?;
        tracing::info!(target: "jwt_runtime", "all tokens of a user revoked");
        Ok(())
    }

    /// The public verification keys as a JWK set (`/.well-known/jwks.json`): the signing key's
    /// public half with `JWT_ENCODE_KID`, and every named asymmetric key. Secrets never appear.
    pub fn jwks(&self) -> jsonwebtoken::jwk::JwkSet {
        self.engine.keys.jwks()
    }

    /// A Poem endpoint serving [`jwks`](Self::jwks) as JSON, for other services to verify this
    /// app's tokens.
    ///
    /// ```
    /// # let jwt = jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("k".repeat(32))).unwrap();
    /// let app = poem::Route::new().at("/.well-known/jwks.json", jwt.jwks_endpoint());
    /// ```
    pub fn jwks_endpoint(&self) -> impl Endpoint<Output = Response> + use<> {
        let body = serde_json::to_string(&self.jwks()).unwrap_or_else(|_| "{\"keys\":[]}".into());
        poem::endpoint::make_sync(move |_| {
            Response::builder()
                .content_type("application/json")
                .header("cache-control", "max-age=300")
                .body(body.clone())
        })
    }

    /// The `csrf` claim of a valid token (the reference's `get_csrf_token`), for apps that hand
    /// the double-submit value out themselves (`JWT_CSRF_IN_COOKIES = false`).
    ///
    /// # Errors
    /// The token does not verify, or was minted without a `csrf` claim.
    pub fn get_csrf_token(&self, token: &str) -> Result<String, JwtError> {
        Cookies(&self.engine).csrf_of(token)
    }

    /// Sets the access cookie (HttpOnly) and, under CSRF protection with `JWT_CSRF_IN_COOKIES`,
    /// the readable `csrf_access_token` cookie (the reference's `set_access_cookies`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let jwt = jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("k".repeat(32))).unwrap();
    /// let token = jwt.create_access_token("example_user").await.unwrap();
    /// let mut resp = poem::Response::default();
    /// jwt.set_access_cookies(&mut resp, &token).unwrap();
    /// let cookies: Vec<_> = resp.headers().get_all("set-cookie").iter().collect();
    /// assert_eq!(cookies.len(), 2);
    /// assert!(cookies[0].to_str().unwrap().ends_with("; HttpOnly; Path=/"));
    /// # }
    /// ```
    ///
    /// # Errors
    /// The token does not verify or carries no `csrf` claim while one is needed, or is not a
    /// valid cookie value.
    pub fn set_access_cookies(&self, resp: &mut Response, token: &str) -> Result<(), JwtError> {
        self.set_access_cookies_with(resp, token, &CookieOptions::default())
    }

    /// [`set_access_cookies`](Self::set_access_cookies) with a `max_age` or `domain` override.
    ///
    /// # Errors
    /// As [`set_access_cookies`](Self::set_access_cookies), or a domain that is not one.
    pub fn set_access_cookies_with(
        &self,
        resp: &mut Response,
        token: &str,
        opts: &CookieOptions,
    ) -> Result<(), JwtError> {
        Cookies(&self.engine).set_cookies(resp, token, opts, TokenType::Access)
    }

    /// Sets the refresh cookie and its CSRF cookie (the reference's `set_refresh_cookies`).
    ///
    /// # Errors
    /// As [`set_access_cookies`](Self::set_access_cookies).
    pub fn set_refresh_cookies(&self, resp: &mut Response, token: &str) -> Result<(), JwtError> {
        self.set_refresh_cookies_with(resp, token, &CookieOptions::default())
    }

    /// [`set_refresh_cookies`](Self::set_refresh_cookies) with a `max_age` or `domain` override.
    ///
    /// # Errors
    /// As [`set_access_cookies_with`](Self::set_access_cookies_with).
    pub fn set_refresh_cookies_with(
        &self,
        resp: &mut Response,
        token: &str,
        opts: &CookieOptions,
    ) -> Result<(), JwtError> {
        Cookies(&self.engine).set_cookies(resp, token, opts, TokenType::Refresh)
    }

    /// Clears the access cookie and its CSRF cookie: empty value, `Expires` in 1970, same path,
    /// domain and flags (the reference's `unset_access_cookies`).
    ///
    /// # Errors
    /// Only if a cookie line cannot be written into a header.
    pub fn unset_access_cookies(&self, resp: &mut Response) -> Result<(), JwtError> {
        Cookies(&self.engine).unset_cookies(resp, &CookieOptions::default(), TokenType::Access)
    }

    /// Clears the refresh cookie and its CSRF cookie (the reference's `unset_refresh_cookies`).
    ///
    /// # Errors
    /// As [`unset_access_cookies`](Self::unset_access_cookies).
    pub fn unset_refresh_cookies(&self, resp: &mut Response) -> Result<(), JwtError> {
        Cookies(&self.engine).unset_cookies(resp, &CookieOptions::default(), TokenType::Refresh)
    }

    /// Clears every JWT cookie (the reference's `unset_jwt_cookies`).
    ///
    /// ```
    /// # let jwt = jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("k".repeat(32))).unwrap();
    /// let mut resp = poem::Response::default();
    /// jwt.unset_jwt_cookies(&mut resp).unwrap();
    /// let first = resp.headers().get("set-cookie").unwrap().to_str().unwrap();
    /// assert_eq!(first, "access_token_cookie=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Path=/");
    /// ```
    ///
    /// # Errors
    /// As [`unset_access_cookies`](Self::unset_access_cookies).
    pub fn unset_jwt_cookies(&self, resp: &mut Response) -> Result<(), JwtError> {
        self.unset_jwt_cookies_with(resp, &CookieOptions::default())
    }

    /// [`unset_jwt_cookies`](Self::unset_jwt_cookies) with a `domain` override.
    ///
    /// # Errors
    /// As [`unset_access_cookies`](Self::unset_access_cookies), or a domain that is not one.
    pub fn unset_jwt_cookies_with(
        &self,
        resp: &mut Response,
        opts: &CookieOptions,
    ) -> Result<(), JwtError> {
        Cookies(&self.engine).unset_cookies(resp, opts, TokenType::Access)?;
        Cookies(&self.engine).unset_cookies(resp, opts, TokenType::Refresh)
    }
}

impl std::fmt::Debug for JwtManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtManager")
            .field("config", &self.engine.config)
            .finish_non_exhaustive()
    }
}
