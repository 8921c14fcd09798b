//! [`JwtManager`]: validated config, keys and loaders, installed on a route tree as Poem middleware.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Once};

use poem::{Endpoint, FromRequest, Middleware, Request, RequestBody, Response};
use serde_json::Value;

use crate::blocklist::{Blocklist, MemoryBlocklist, TokenInfo};
use crate::callbacks::{Callbacks, DecodeKeyLoader, TokenVerifier};
use crate::config::JwtConfig;
use crate::error::{ConfigError, JwtError};
use crate::jose::{ClaimRules, JsonObject};
use crate::keys::KeySet;
use crate::locate::Location;
use crate::token::{TokenBuilder, TokenType};
use crate::verify::VerifiedJwt;
use jsonwebtoken::EncodingKey;

/// The time source used for `iat`/`exp` when creating tokens and for every time check.
///
/// Tests inject a fixed clock with [`JwtManager::with_clock`]; production uses [`SystemClock`].
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the unix epoch, with a fraction.
    fn now(&self) -> f64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> f64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }
}

/// Any `Fn() -> f64` is a clock.
impl<F: Fn() -> f64 + Send + Sync + 'static> Clock for F {
    fn now(&self) -> f64 {
        self()
    }
}

/// A boxed future, as loaders return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The reference's `additional_claims_loader`: claims added to every new token.
///
/// Write it with `#[additional_claims]` on an `async fn(identity: &serde_json::Value) -> R`
/// (R: a `serde_json::Map`, a `Value` object, or any map that serializes to one), or implement it
/// by hand. Its claims go over the reserved ones; the call site's `additional_claims` go over its.
pub trait AdditionalClaimsLoader: Send + Sync + 'static {
    /// The claims for a token of `identity`.
    fn load<'a>(&'a self, identity: &'a Value) -> BoxFuture<'a, Result<JsonObject, JwtError>>;
}

/// Reshapes an error response: gets the error and, where the reference passes it, the verified
/// token (revoked, user lookup failed, policy refused); `None` keeps the default response.
pub type ErrorHook = dyn Fn(&JwtError, Option<&VerifiedJwt>) -> Option<Response> + Send + Sync;

/// Maps the identity given to `create_*_token` to the identity claim (the reference's
/// `user_identity_loader`).
pub type IdentityMapper = dyn Fn(&Value) -> Value + Send + Sync;

#[derive(Clone)]
pub(crate) struct Inner {
    pub(crate) config: JwtConfig,
    pub(crate) keys: KeySet,
    pub(crate) locations: Vec<Location>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) additional_claims: Option<Arc<dyn AdditionalClaimsLoader>>,
    pub(crate) blocklist: Arc<dyn Blocklist>,
    pub(crate) error_hook: Option<Arc<ErrorHook>>,
    pub(crate) user_identity: Option<Arc<IdentityMapper>>,
    pub(crate) callbacks: Callbacks,
}

/// The heart of the runtime: config, keys and loaders, shared by every request.
///
/// Build it once with [`JwtManager::new`] (which validates the config), attach it to the routes
/// with `.with(manager)`, and take it as a handler argument to create tokens. Cloning is cheap.
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
    inner: Arc<Inner>,
}

static INSTALL_PROVIDER: Once = Once::new();

/// Installs jsonwebtoken's crypto provider for the backend this crate was built with, once, so
/// the crate's "no crypto provider" panic can never happen. A provider the application installed
/// first is kept.
fn install_crypto_provider() {
    INSTALL_PROVIDER.call_once(|| {
        #[cfg(feature = "aws_lc_rs")]
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    });
}

#[cfg(not(any(feature = "aws_lc_rs", feature = "rust_crypto")))]
compile_error!(
    "jwt-runtime needs a crypto backend: enable the `aws_lc_rs` (default) or `rust_crypto` feature"
);

fn validate(config: &JwtConfig) -> Result<Vec<Location>, ConfigError> {
    let non_empty = |value: &str, option: &str| {
        if value.trim().is_empty() {
            Err(ConfigError::new(format!("{option} cannot be empty")))
        } else {
            Ok(())
        }
    };
    non_empty(&config.header_name, "JWT_HEADER_NAME")?;
    poem::http::HeaderName::from_bytes(config.header_name.as_bytes()).map_err(|_| {
        ConfigError::new(format!(
            "JWT_HEADER_NAME: \"{}\" is not a valid header name",
            config.header_name
        ))
    })?;
    non_empty(&config.error_message_key, "JWT_ERROR_MESSAGE_KEY")?;
    non_empty(&config.identity_claim, "JWT_IDENTITY_CLAIM")?;
    non_empty(&config.query_string_name, "JWT_QUERY_STRING_NAME")?;
    if config.max_token_length == 0 {
        return Err(ConfigError::new(
            "JWT_MAX_TOKEN_LENGTH must be greater than 0",
        ));
    }
    if config.token_location.is_empty() {
        return Err(ConfigError::new(
            "JWT_TOKEN_LOCATION must contain at least one location",
        ));
    }
    let mut locations: Vec<Location> = Vec::new();
    for name in &config.token_location {
        let location: Location = name.parse()?;
        if !locations.contains(&location) {
            locations.push(location);
        }
    }
    for method in &config.csrf_methods {
        poem::http::Method::from_bytes(method.as_bytes()).map_err(|_| {
            ConfigError::new(format!(
                "JWT_CSRF_METHODS: \"{method}\" is not an HTTP method"
            ))
        })?;
    }
    crate::cookies::validate(config)?;
    for (kind, status) in &config.status_codes {
        if !crate::error::KINDS.contains(&kind.as_str()) {
            return Err(ConfigError::new(format!(
                "JWT_STATUS_CODES: unknown error kind \"{kind}\" (expected one of {})",
                crate::error::KINDS.join(", ")
            )));
        }
        if !(100..=599).contains(status) {
            return Err(ConfigError::new(format!(
                "JWT_STATUS_CODES: {status} is not an HTTP status"
            )));
        }
    }
    Ok(locations)
}

impl JwtManager {
    /// Validates `config`, loads the keys and installs the crypto provider.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first option that cannot work: a missing or empty secret, an
    /// unknown algorithm, an unparsable PEM key, an unknown token location, and so on.
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
        install_crypto_provider();
        let locations = validate(&config)?;
        let keys = KeySet::from_config(&config)?;
        Ok(JwtManager {
            inner: Arc::new(Inner {
                config,
                keys,
                locations,
                clock: Arc::new(SystemClock),
                additional_claims: None,
                blocklist: Arc::new(MemoryBlocklist::new()),
                error_hook: None,
                user_identity: None,
                callbacks: Callbacks::default(),
            }),
        })
    }

    fn modify(self, f: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        f(&mut inner);
        JwtManager {
            inner: Arc::new(inner),
        }
    }

    /// Registers the additional-claims loader (the reference's `additional_claims_loader`).
    ///
    pub fn additional_claims(self, loader: impl AdditionalClaimsLoader) -> Self {
        self.modify(|inner| inner.additional_claims = Some(Arc::new(loader)))
    }

    /// Sets the revocation store (the default is a [`MemoryBlocklist`]).
    ///
    /// ```
    /// # let jwt = jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("k".repeat(32))).unwrap();
    /// let jwt = jwt.blocklist(jwt_runtime::MemoryBlocklist::new());
    /// ```
    pub fn blocklist(self, store: impl Blocklist) -> Self {
        self.modify(|inner| inner.blocklist = Arc::new(store))
    }

    /// Reshapes error responses: the hook gets every refusal (and, for revoked tokens, failed user
    /// lookups and policy refusals, the verified token) and returns `Some(response)` to replace
    /// the default one. This is how the reference's `revoked_token_loader` and
    /// `user_lookup_error_loader` are written.
    ///
    /// ```
    /// # let jwt = jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("k".repeat(32))).unwrap();
    /// use jwt_runtime::JwtError;
    /// use poem::{web::Json, IntoResponse, http::StatusCode};
    /// let jwt = jwt.on_error(|error, _token| match error {
    ///     JwtError::Revoked => Some(
    ///         Json(serde_json::json!({"description": "The token has been revoked.", "error": "token_revoked"}))
    ///             .with_status(StatusCode::UNAUTHORIZED)
    ///             .into_response(),
    ///     ),
    ///     _ => None,
    /// });
    /// ```
    pub fn on_error(
        self,
        hook: impl Fn(&JwtError, Option<&VerifiedJwt>) -> Option<Response> + Send + Sync + 'static,
    ) -> Self {
        self.modify(|inner| inner.error_hook = Some(Arc::new(hook)))
    }

    /// Maps the identity passed to `create_*_token` (as JSON) to the identity claim: the
    /// reference's `user_identity_loader`. The additional-claims loader still sees the raw
    /// identity.
    ///
    /// ```
    /// # let jwt = jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("k".repeat(32))).unwrap();
    /// // create_access_token(&user) stores user.id as `sub`.
    /// let jwt = jwt.user_identity(|user| user["id"].clone());
    /// ```
    pub fn user_identity(self, mapper: impl Fn(&Value) -> Value + Send + Sync + 'static) -> Self {
        self.modify(|inner| inner.user_identity = Some(Arc::new(mapper)))
    }

    /// Revokes the token with these verified claims until it expires (in the configured store).
    ///
    /// # Errors
    /// The claims carry no `jti`, or the store failed.
    pub async fn revoke_token(&self, claims: &JsonObject) -> Result<(), JwtError> {
        let info = TokenInfo::from_claims(
            claims,
            &self.inner.config.identity_claim,
            self.inner.config.decode_leeway,
        );
        self.inner.blocklist.revoke(&info).await.map_err(|e| {
            tracing::error!(target: "jwt_runtime", reason = %e, "revocation failed");
            JwtError::RevocationUnavailable
        })?;
        tracing::info!(target: "jwt_runtime", jti = info.jti.as_deref().unwrap_or_default(), token_type = %info.token_type, "token revoked");
        Ok(())
    }

    /// Revokes every token of `identity` issued until now ("log out everywhere").
    ///
    /// # Errors
    /// The store failed.
    pub async fn revoke_all_for_user(&self, identity: &Value) -> Result<(), JwtError> {
        let user = crate::blocklist::user_key(identity);
        let now = self.now().floor() as i64;
        self.inner
            .blocklist
            .revoke_user(&user, now)
            .await
            .map_err(|e| {
                tracing::error!(target: "jwt_runtime", reason = %e, "revocation failed");
                JwtError::RevocationUnavailable
            })?;
        tracing::info!(target: "jwt_runtime", "all tokens of a user revoked");
        Ok(())
    }

    fn callback(self, set: impl FnOnce(&mut Callbacks)) -> Self {
        self.modify(|inner| set(&mut inner.callbacks))
    }

    /// The reference's `expired_token_loader`: the response for an expired token, from its
    /// header and payload (signature verified; only `exp` failed).
    ///
    /// ```
    /// # let jwt = jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("k".repeat(32))).unwrap();
    /// use poem::{http::StatusCode, web::Json, IntoResponse};
    /// let jwt = jwt.expired_token_loader(|_header, _payload| {
    ///     Json(serde_json::json!({"code": "dave", "err": "I can't let you do that"}))
    ///         .with_status(StatusCode::UNAUTHORIZED)
    ///         .into_response()
    /// });
    /// ```
    pub fn expired_token_loader(
        self,
        f: impl Fn(&JsonObject, &JsonObject) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.callback(|c| c.expired = Some(Arc::new(f)))
    }

    /// The reference's `invalid_token_loader`: the response for a malformed or invalid token
    /// (every 422 of the reference), from the error message.
    pub fn invalid_token_loader(
        self,
        f: impl Fn(&str) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.callback(|c| c.invalid = Some(Arc::new(f)))
    }

    /// The reference's `unauthorized_loader`: the response for a missing token or a failed CSRF
    /// check, from the error message.
    pub fn unauthorized_loader(self, f: impl Fn(&str) -> Response + Send + Sync + 'static) -> Self {
        self.callback(|c| c.unauthorized = Some(Arc::new(f)))
    }

    /// The reference's `needs_fresh_token_loader`.
    pub fn needs_fresh_token_loader(
        self,
        f: impl Fn(&JsonObject, &JsonObject) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.callback(|c| c.needs_fresh = Some(Arc::new(f)))
    }

    /// The reference's `revoked_token_loader`.
    pub fn revoked_token_loader(
        self,
        f: impl Fn(&JsonObject, &JsonObject) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.callback(|c| c.revoked = Some(Arc::new(f)))
    }

    /// The reference's `user_lookup_error_loader`.
    pub fn user_lookup_error_loader(
        self,
        f: impl Fn(&JsonObject, &JsonObject) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.callback(|c| c.user_lookup_error = Some(Arc::new(f)))
    }

    /// The reference's `token_verification_failed_loader`.
    pub fn token_verification_failed_loader(
        self,
        f: impl Fn(&JsonObject, &JsonObject) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.callback(|c| c.verification_failed = Some(Arc::new(f)))
    }

    /// The reference's `token_verification_loader` (async): runs after the revocation check;
    /// `false` answers 400 `User claims verification failed`.
    ///
    /// ```
    /// # let jwt = jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("k".repeat(32))).unwrap();
    /// let jwt = jwt.token_verification_loader(|token: std::sync::Arc<jwt_runtime::VerifiedJwt>| async move {
    ///     token.claims().get("tenant").is_some()
    /// });
    /// ```
    pub fn token_verification_loader(self, verifier: impl TokenVerifier) -> Self {
        self.callback(|c| c.token_verification = Some(Arc::new(verifier)))
    }

    /// The reference's `additional_headers_loader`: header parameters for every new token, from
    /// the raw identity; the call site's `additional_headers` win.
    pub fn additional_headers_loader(
        self,
        f: impl Fn(&Value) -> JsonObject + Send + Sync + 'static,
    ) -> Self {
        self.callback(|c| c.additional_headers = Some(Arc::new(f)))
    }

    /// The reference's `encode_key_loader`: the signing key for an identity (`None`: the
    /// configured key). It must suit `JWT_ALGORITHM`.
    pub fn encode_key_loader(
        self,
        f: impl Fn(&Value) -> Option<EncodingKey> + Send + Sync + 'static,
    ) -> Self {
        self.callback(|c| c.encode_key = Some(Arc::new(f)))
    }

    /// The reference's `decode_key_loader` (async): the verification key from the unverified
    /// header and payload (`None`: the configured keys). The `alg` allow-list still applies.
    pub fn decode_key_loader(self, loader: impl DecodeKeyLoader) -> Self {
        self.callback(|c| c.decode_key = Some(Arc::new(loader)))
    }

    /// The public verification keys as a JWK set (`/.well-known/jwks.json`): the signing key's
    /// public half with `JWT_ENCODE_KID`, and every named asymmetric key. Secrets never appear.
    pub fn jwks(&self) -> jsonwebtoken::jwk::JwkSet {
        self.inner.keys.jwks()
    }

    /// A Poem endpoint serving [`jwks`](Self::jwks) as JSON, for other services to verify this
    /// app's tokens.
    ///
    /// ```
    /// # let jwt = jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("k".repeat(32))).unwrap();
    /// let app = poem::Route::new().at("/.well-known/jwks.json", jwt.jwks_endpoint());
    /// ```
    pub fn jwks_endpoint(&self) -> impl Endpoint<Output = Response> {
        let body = serde_json::to_string(&self.jwks()).unwrap_or_else(|_| "{\"keys\":[]}".into());
        poem::endpoint::make_sync(move |_| {
            Response::builder()
                .content_type("application/json")
                .header("cache-control", "max-age=300")
                .body(body.clone())
        })
    }

    /// Replaces the clock used for token times and checks (tests freeze time with it).
    ///
    /// ```
    /// # let jwt = jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("k".repeat(32))).unwrap();
    /// let jwt = jwt.with_clock(|| 1_700_000_000.0);
    /// assert_eq!(jwt.now(), 1_700_000_000.0);
    /// ```
    pub fn with_clock(self, clock: impl Clock) -> Self {
        self.modify(|inner| inner.clock = Arc::new(clock))
    }

    /// The validated configuration.
    pub fn config(&self) -> &JwtConfig {
        &self.inner.config
    }

    /// The current time of this manager's clock.
    pub fn now(&self) -> f64 {
        self.inner.clock.now()
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    pub(crate) fn claim_rules(&self) -> ClaimRules<'_> {
        let config = &self.inner.config;
        ClaimRules {
            leeway: config.decode_leeway as f64,
            issuer: config.decode_issuer.as_deref(),
            audience: config.decode_audience.as_deref(),
            verify_sub: config.verify_sub,
            identity_claim: &config.identity_claim,
            max_length: config.max_token_length,
        }
    }

    /// Starts an access token for `identity` (the reference's `create_access_token`); `.await`
    /// the builder to get the encoded token.
    pub fn create_access_token(&self, identity: impl serde::Serialize) -> TokenBuilder {
        TokenBuilder::new(self.clone(), TokenType::Access, identity)
    }

    /// Starts a refresh token for `identity` (the reference's `create_refresh_token`).
    pub fn create_refresh_token(&self, identity: impl serde::Serialize) -> TokenBuilder {
        TokenBuilder::new(self.clone(), TokenType::Refresh, identity)
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
        crate::jose::decode(
            token,
            &self.inner.keys,
            &self.claim_rules(),
            self.now(),
            None,
        )
        .and_then(|d| match d.expired {
            true => Err(JwtError::Expired),
            false => Ok(d.claims),
        })
    }

    /// The default response for `error` under this config: `{"<JWT_ERROR_MESSAGE_KEY>":
    /// "<message>"}` with the kind's status (or its `JWT_STATUS_CODES` override).
    pub fn error_response(&self, error: &JwtError) -> Response {
        let mut resp = error.to_response(&self.inner.config.error_message_key);
        if let Some(status) = self.inner.config.status_codes.get(error.kind()) {
            if let Ok(status) = poem::http::StatusCode::from_u16(*status) {
                resp.set_status(status);
            }
        }
        resp
    }

    /// The manager a request was routed through, if any.
    pub fn from_request_extensions(req: &Request) -> Result<JwtManager, JwtError> {
        req.extensions().get::<JwtManager>().cloned().ok_or_else(|| {
            tracing::error!(target: "jwt_runtime", "a protected route was reached without the JwtManager middleware");
            JwtError::Misconfigured(
                "JwtManager is not installed: add `.with(jwt_manager)` to the route tree".into(),
            )
        })
    }
}

/// `error` as a Poem error carrying its response, shaped by `manager`'s config and error hook
/// when there is one (the default message key `msg` otherwise).
pub(crate) fn reject(manager: Option<&JwtManager>, error: &JwtError) -> poem::Error {
    reject_with_token(manager, error, None)
}

/// [`reject`], passing the verified token to the error hook.
pub(crate) fn reject_with_token(
    manager: Option<&JwtManager>,
    error: &JwtError,
    token: Option<&VerifiedJwt>,
) -> poem::Error {
    let Some(manager) = manager else {
        return poem::Error::from_response(error.to_response("msg"));
    };
    let custom = manager.inner.callbacks.respond(error, token).or_else(|| {
        manager
            .inner
            .error_hook
            .as_ref()
            .and_then(|hook| hook(error, token))
    });
    poem::Error::from_response(custom.unwrap_or_else(|| manager.error_response(error)))
}

impl std::fmt::Debug for JwtManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtManager")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Handlers take the manager as an argument to create tokens.
impl<'a> FromRequest<'a> for JwtManager {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        JwtManager::from_request_extensions(req).map_err(|e| reject(None, &e))
    }
}

impl<E: Endpoint> Middleware<E> for JwtManager {
    type Output = JwtManagerEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        JwtManagerEndpoint {
            manager: self.clone(),
            inner: ep,
        }
    }
}

/// The endpoint [`JwtManager`] wraps routes in: it makes the manager reachable from every request.
pub struct JwtManagerEndpoint<E> {
    manager: JwtManager,
    inner: E,
}

impl<E: Endpoint> Endpoint for JwtManagerEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> poem::Result<Self::Output> {
        req.extensions_mut().insert(self.manager.clone());
        self.inner.call(req).await
    }
}
