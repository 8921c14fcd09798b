//! [`JwtManagerBuilder`]: a manager is built once, with its store, clock and hooks, and is
//! immutable afterwards, so no clone of it can ever see a different setup.

use std::sync::Arc;

use jsonwebtoken::EncodingKey;
use poem::Response;
use serde_json::Value;

use super::manager::JwtManager;
use crate::config::{JwtConfig, TrustedIssuer};
use crate::engine::claims_loader::check_required_data;
use crate::engine::hooks::{AdditionalClaimsLoader, DecodeKeyLoader, Hooks, TokenVerifier};
use crate::engine::Engine;
use crate::revocation::{Blocklist, DynBlocklist, MemoryBlocklist};
use crate::vocabulary::{Clock, ConfigError, JsonObject, JwtError, SystemClock, VerifiedJwt};

/// Builds a [`JwtManager`]: the config, then the revocation store, the clock and the hooks (the
/// reference's loader callbacks), then [`build`](Self::build), which checks everything once.
///
/// ```
/// use jwt_runtime::{stores::MemoryBlocklist, JwtConfig, JwtError, JwtManager};
/// use poem::{http::StatusCode, IntoResponse};
///
/// let jwt = JwtManager::builder(JwtConfig::default().with_secret("a-32-byte-or-longer-random-secret!!"))
///     .blocklist(MemoryBlocklist::new())
///     .user_identity(|user| user["id"].clone())
///     .revoked_token_loader(|_header, _payload| {
///         (StatusCode::UNAUTHORIZED, "This session has ended").into_response()
///     })
///     .build()?;
/// # Ok::<(), jwt_runtime::ConfigError>(())
/// ```
#[must_use = "a builder does nothing until `build()` is called"]
pub struct JwtManagerBuilder {
    config: JwtConfig,
    clock: Arc<dyn Clock>,
    store: Box<dyn DynBlocklist>,
    /// Whether [`blocklist`](Self::blocklist) was called (the default store is not "in use").
    store_registered: bool,
    hooks: Hooks,
    issuers: Vec<TrustedIssuer>,
}

impl std::fmt::Debug for JwtManagerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtManagerBuilder")
            .field("config", &self.config)
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}

impl JwtManager {
    /// Starts a manager with a store, a clock or hooks; see [`JwtManagerBuilder`].
    pub fn builder(config: JwtConfig) -> JwtManagerBuilder {
        JwtManagerBuilder::new(config)
    }
}

impl JwtManagerBuilder {
    pub(crate) fn new(config: JwtConfig) -> Self {
        JwtManagerBuilder {
            config,
            clock: Arc::new(SystemClock),
            store: Box::new(MemoryBlocklist::new()),
            store_registered: false,
            hooks: Hooks::default(),
            issuers: Vec::new(),
        }
    }

    /// The hooks' own requirements: the state the additional-claims loader reads is registered.
    fn check_hooks(&self) -> Result<(), ConfigError> {
        match &self.hooks.additional_claims {
            Some(loader) => check_required_data(loader.as_ref(), &self.hooks.data),
            None => Ok(()),
        }
    }

    /// Changes the config before it is checked (for builder methods that set options).
    pub(crate) fn map_config(mut self, change: impl FnOnce(&mut JwtConfig)) -> Self {
        change(&mut self.config);
        self
    }

    /// Checks the config, loads the keys, installs the crypto provider, gives the store the
    /// clock, and makes the manager.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first option that cannot work: a missing or empty secret, an
    /// unknown algorithm, an unparsable PEM key, an unknown token location, and so on; a remote
    /// key source (`JWT_DECODE_JWKS_URL`, `JWT_DECODE_ISSUER_DISCOVERY`) is refused here, as it
    /// needs the network: use [`build_async`](Self::build_async).
    pub fn build(self) -> Result<JwtManager, ConfigError> {
        if let Some(issuer) = self.issuers.first() {
            return Err(ConfigError::sentence(
                format!("trusted issuer \"{}\"", issuer.issuer),
                "is fetched over the network when the manager is built: build it with \
                 `JwtManagerBuilder::build_async().await`",
            ));
        }
        self.check_hooks()?;
        let engine = Engine::new(self.config, self.clock, self.store, self.hooks)?
            .store_registered(self.store_registered);
        Ok(JwtManager::from_engine(Arc::new(engine)))
    }

    /// [`build`](Self::build) for a manager whose keys come from an identity provider
    /// (`JWT_DECODE_JWKS_URL`, `JWT_DECODE_ISSUER_DISCOVERY`, or [`jwks_url`](Self::jwks_url) and
    /// [`issuer_discovery`](Self::issuer_discovery); feature `remote-jwks`): fetches the
    /// discovery document and the JWK set, then starts their background refresh on the current
    /// Tokio runtime. Without a remote key source it is `build`.
    ///
    /// # Errors
    /// Every error of `build`, and a [`ConfigError`] naming the option and the URL when the
    /// discovery document or the JWK set cannot be fetched or used.
    pub async fn build_async(self) -> Result<JwtManager, ConfigError> {
        self.check_hooks()?;
        let engine = Engine::new_async(
            self.config,
            self.clock,
            self.store,
            self.hooks,
            self.issuers,
        )
        .await?
        .store_registered(self.store_registered);
        Ok(JwtManager::from_engine(Arc::new(engine)))
    }

    /// Verifies tokens with the JWK set at `url` (`JWT_DECODE_JWKS_URL`; feature `remote-jwks`),
    /// fetched by [`build_async`](Self::build_async), refreshed in the background and refetched
    /// (rate-limited) for an unknown `kid`.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.config.decode_jwks_url = Some(url.into());
        self
    }

    /// Verifies tokens of the OpenID Connect issuer `issuer` (`JWT_DECODE_ISSUER_DISCOVERY`;
    /// feature `remote-jwks`): [`build_async`](Self::build_async) reads
    /// `<issuer>/.well-known/openid-configuration`, uses its `jwks_uri` as
    /// [`jwks_url`](Self::jwks_url) would, and requires `iss` to be `issuer`.
    pub fn issuer_discovery(mut self, issuer: impl Into<String>) -> Self {
        self.config.decode_issuer_discovery = Some(issuer.into());
        self
    }

    /// Accepts the remote key set's tokens ([`jwks_url`](Self::jwks_url),
    /// [`issuer_discovery`](Self::issuer_discovery)) whatever their `aud`
    /// (`JWT_DECODE_ANY_AUDIENCE`). Without it, or `JWT_DECODE_AUDIENCE`, a remote key set refuses
    /// startup: a provider signs tokens for all its clients, and a token it issued to another
    /// one would open this API too (RFC 8725 section 3.9). Only for a provider whose every token
    /// is meant for this API.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), jwt_runtime::ConfigError> {
    /// use jwt_runtime::{JwtConfig, JwtManager};
    /// let jwt = JwtManager::builder(JwtConfig { algorithm: "RS256".into(), ..JwtConfig::default() })
    ///     .jwks_url("https://sidecar.internal/jwks.json")
    ///     .any_audience()
    ///     .build_async()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn any_audience(mut self) -> Self {
        self.config.decode_any_audience = true;
        self
    }

    /// Also accepts the tokens of another issuer (feature `remote-jwks`): a token whose `iss` is
    /// `issuer.issuer` is verified with that issuer's JWK set (its `jwks_url`, or found by OIDC
    /// discovery), its algorithms, audience and identity claim, and never with this app's own
    /// keys; other tokens never with its keys. Call it once per issuer; needs
    /// [`build_async`](Self::build_async). The remote-set options (`JWT_JWKS_*`) apply to each.
    ///
    /// Each issuer needs the audience its tokens must carry (this API's client id there), or an
    /// explicit [`TrustedIssuer::any_audience`]: the build fails, naming the issuer, otherwise.
    /// Its users are filed apart from this app's: log them out everywhere with
    /// [`JwtManager::revoke_all_for_user`]`(&identity)` in a handler, or
    /// [`UserRef::of_issuer`](crate::UserRef::of_issuer).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), jwt_runtime::ConfigError> {
    /// use jwt_runtime::{keys::TrustedIssuer, JwtConfig, JwtManager};
    /// let jwt = JwtManager::builder(JwtConfig::default().with_secret("k".repeat(32)))
    ///     .trust_issuer(TrustedIssuer::new("https://auth.example.com").audience("my-api"))
    ///     .build_async()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn trust_issuer(mut self, issuer: TrustedIssuer) -> Self {
        self.issuers.push(issuer);
        self
    }

    /// The revocation store (the reference's `token_in_blocklist_loader`); the default is a
    /// [`MemoryBlocklist`]. See [`stores`](crate::stores).
    ///
    /// Registering a store puts revocation in use: a token without a usable `jti` (none, or one
    /// over 128 characters) is then refused where revocation is checked (422 `Missing claim:
    /// jti`), since no revocation could name it; `JWT_ALLOW_TOKENS_WITHOUT_JTI` accepts it. With
    /// no store registered (and rotation off) such a token is accepted, as in flask-jwt-extended.
    pub fn blocklist(mut self, store: impl Blocklist) -> Self {
        self.store = Box::new(store);
        self.store_registered = true;
        self
    }

    /// The clock of token times, time checks and store pruning (tests freeze time with it).
    ///
    /// ```
    /// # use jwt_runtime::{JwtConfig, JwtManager};
    /// let jwt = JwtManager::builder(JwtConfig::default().with_secret("k".repeat(32)))
    ///     .clock(|| 1_700_000_000.0)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(jwt.now(), 1_700_000_000.0);
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The additional-claims loader (the reference's `additional_claims_loader`): an
    /// `#[additional_claims]` function, an async closure of the identity (an owned
    /// `serde_json::Value`), or a type implementing [`AdditionalClaimsLoader`]. It runs for every
    /// new token, re-issued ones included; the call site's claims go over its.
    ///
    /// ```
    /// use jwt_runtime::{JwtConfig, JwtManager};
    /// use serde_json::{json, Value};
    /// use std::sync::Arc;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = JwtConfig::default().with_secret("a-32-byte-secret-for-the-example");
    /// // An async closure; comparisons need no type annotation.
    /// let jwt = JwtManager::builder(config.clone())
    ///     .additional_claims(async |identity| json!({"is_administrator": identity == "admin"}))
    ///     .build()?;
    /// let token = jwt.create_access_token("admin").await?;
    /// assert_eq!(jwt.decode_token(&token)?["is_administrator"], true);
    ///
    /// // A closure returning a future that owns a clone of captured state.
    /// let tenants = Arc::new(vec![("alice", "acme")]);
    /// let jwt = JwtManager::builder(config)
    ///     .additional_claims(move |identity: Value| {
    ///         let tenants = tenants.clone();
    ///         async move {
    ///             let tenant = tenants.iter().find(|(user, _)| identity == *user).map(|(_, t)| *t);
    ///             json!({"tenant": tenant})
    ///         }
    ///     })
    ///     .build()?;
    /// let token = jwt.create_access_token("alice").await?;
    /// assert_eq!(jwt.decode_token(&token)?["tenant"], "acme");
    /// # Ok(())
    /// # }
    /// ```
    pub fn additional_claims(mut self, loader: impl AdditionalClaimsLoader) -> Self {
        self.hooks.additional_claims = Some(Arc::new(loader));
        self
    }

    /// Registers `value` as application state of its type, for the additional-claims loader:
    /// the second argument `&T` of an `#[additional_claims]` fn, or
    /// [`AppData::get`](crate::hooks::AppData::get) in a hand-written loader. A later value of the
    /// same type replaces it. `build()` refuses a loader whose state is not registered.
    ///
    /// The state is the manager's rather than the request's (Poem's `.data(..)`): a loader runs
    /// wherever a token is minted, outside requests and after the handler (a re-issued cookie).
    /// Register the same `Arc` in both places when user loaders need it too.
    ///
    /// ```
    /// use jwt_runtime::{additional_claims, JwtConfig, JwtManager};
    /// use serde_json::{json, Value};
    /// use std::collections::HashMap;
    ///
    /// struct Roles(HashMap<&'static str, &'static str>);
    ///
    /// #[additional_claims]
    /// async fn role(identity: &Value, roles: &Roles) -> Value {
    ///     json!({"role": identity.as_str().and_then(|name| roles.0.get(name))})
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let jwt = JwtManager::builder(JwtConfig::default().with_secret("k".repeat(32)))
    ///     .data(Roles(HashMap::from([("ann", "editor")])))
    ///     .additional_claims(role)
    ///     .build()?;
    /// let token = jwt.create_access_token("ann").await?; // no request needed
    /// assert_eq!(jwt.decode_token(&token)?["role"], "editor");
    /// # Ok(())
    /// # }
    /// ```
    pub fn data<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.hooks.data = std::mem::take(&mut self.hooks.data).with(value);
        self
    }

    /// Maps the identity passed to `create_*_token` (as JSON) to the identity claim: the
    /// reference's `user_identity_loader`. The additional-claims loader still sees the raw
    /// identity.
    ///
    /// ```
    /// # use jwt_runtime::{JwtConfig, JwtManager};
    /// // create_access_token(&user) stores user.id as `sub`.
    /// let jwt = JwtManager::builder(JwtConfig::default().with_secret("k".repeat(32)))
    ///     .user_identity(|user| user["id"].clone())
    ///     .build();
    /// ```
    pub fn user_identity(
        mut self,
        mapper: impl Fn(&Value) -> Value + Send + Sync + 'static,
    ) -> Self {
        self.hooks.user_identity = Some(Arc::new(mapper));
        self
    }

    /// Reshapes error responses: the hook gets every refusal (and, for revoked tokens, failed
    /// user lookups and policy refusals, the verified token) and returns `Some(response)` to
    /// replace the default one. A callback registered for the error's kind goes first.
    ///
    /// ```
    /// # use jwt_runtime::{JwtConfig, JwtManager};
    /// use jwt_runtime::JwtError;
    /// use poem::{web::Json, IntoResponse, http::StatusCode};
    /// let jwt = JwtManager::builder(JwtConfig::default().with_secret("k".repeat(32)))
    ///     .on_error(|error, _token| match error {
    ///         JwtError::Revoked => Some(
    ///             Json(serde_json::json!({"description": "The token has been revoked.", "error": "token_revoked"}))
    ///                 .with_status(StatusCode::UNAUTHORIZED)
    ///                 .into_response(),
    ///         ),
    ///         _ => None,
    ///     })
    ///     .build();
    /// ```
    pub fn on_error(
        mut self,
        hook: impl Fn(&JwtError, Option<&VerifiedJwt>) -> Option<Response> + Send + Sync + 'static,
    ) -> Self {
        self.hooks.on_error = Some(Arc::new(hook));
        self
    }

    /// The reference's `expired_token_loader`: the response for an expired token, from its
    /// header and payload (signature verified; only `exp` failed).
    ///
    /// ```
    /// # use jwt_runtime::{JwtConfig, JwtManager};
    /// use poem::{http::StatusCode, web::Json, IntoResponse};
    /// let jwt = JwtManager::builder(JwtConfig::default().with_secret("k".repeat(32)))
    ///     .expired_token_loader(|_header, _payload| {
    ///         Json(serde_json::json!({"code": "dave", "err": "I can't let you do that"}))
    ///             .with_status(StatusCode::UNAUTHORIZED)
    ///             .into_response()
    ///     })
    ///     .build();
    /// ```
    pub fn expired_token_loader(
        mut self,
        f: impl Fn(&JsonObject, &JsonObject) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.hooks.expired = Some(Arc::new(f));
        self
    }

    /// The reference's `invalid_token_loader`: the response for a malformed or invalid token
    /// (every 422 of the reference), from the error message.
    pub fn invalid_token_loader(
        mut self,
        f: impl Fn(&str) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.hooks.invalid = Some(Arc::new(f));
        self
    }

    /// The reference's `unauthorized_loader`: the response for a missing token or a failed CSRF
    /// check, from the error message.
    pub fn unauthorized_loader(
        mut self,
        f: impl Fn(&str) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.hooks.unauthorized = Some(Arc::new(f));
        self
    }

    /// The reference's `needs_fresh_token_loader`.
    pub fn needs_fresh_token_loader(
        mut self,
        f: impl Fn(&JsonObject, &JsonObject) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.hooks.needs_fresh = Some(Arc::new(f));
        self
    }

    /// The reference's `revoked_token_loader`; it also shapes the refusal of a reused refresh
    /// token (`JWT_REFRESH_ROTATION`), whose payload it receives.
    pub fn revoked_token_loader(
        mut self,
        f: impl Fn(&JsonObject, &JsonObject) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.hooks.revoked = Some(Arc::new(f));
        self
    }

    /// The reference's `user_lookup_error_loader`.
    pub fn user_lookup_error_loader(
        mut self,
        f: impl Fn(&JsonObject, &JsonObject) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.hooks.user_lookup_error = Some(Arc::new(f));
        self
    }

    /// The reference's `token_verification_failed_loader`.
    pub fn token_verification_failed_loader(
        mut self,
        f: impl Fn(&JsonObject, &JsonObject) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.hooks.verification_failed = Some(Arc::new(f));
        self
    }

    /// The reference's `token_verification_loader` (async): runs after the revocation check;
    /// `false` answers 400 `User claims verification failed`.
    ///
    /// ```
    /// # use jwt_runtime::{JwtConfig, JwtManager};
    /// let jwt = JwtManager::builder(JwtConfig::default().with_secret("k".repeat(32)))
    ///     .token_verification_loader(|token: std::sync::Arc<jwt_runtime::VerifiedJwt>| async move {
    ///         token.claims().get("tenant").is_some()
    ///     })
    ///     .build();
    /// ```
    pub fn token_verification_loader(mut self, verifier: impl TokenVerifier) -> Self {
        self.hooks.token_verification = Some(Arc::new(verifier));
        self
    }

    /// The reference's `additional_headers_loader`: header parameters for every new token, from
    /// the raw identity; the call site's `additional_headers` win.
    pub fn additional_headers_loader(
        mut self,
        f: impl Fn(&Value) -> JsonObject + Send + Sync + 'static,
    ) -> Self {
        self.hooks.additional_headers = Some(Arc::new(f));
        self
    }

    /// The reference's `encode_key_loader`: the signing key for an identity (`None`: the
    /// configured key). It must suit `JWT_ALGORITHM`.
    pub fn encode_key_loader(
        mut self,
        f: impl Fn(&Value) -> Option<EncodingKey> + Send + Sync + 'static,
    ) -> Self {
        self.hooks.encode_key = Some(Arc::new(f));
        self
    }

    /// The reference's `decode_key_loader` (async): the verification key from the unverified
    /// header and payload (`None`: the configured keys). The `alg` allow-list still applies.
    pub fn decode_key_loader(mut self, loader: impl DecodeKeyLoader) -> Self {
        self.hooks.decode_key = Some(Arc::new(loader));
        self
    }
}
