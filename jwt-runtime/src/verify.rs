//! The request pipeline (DESIGN.md steps 0-8), one function every protected route goes through.

use std::sync::Arc;

use poem::http::Method;
use poem::Request;
use serde_json::Value;

use crate::blocklist::TokenInfo;
use crate::error::JwtError;
use crate::jose::JsonObject;
use crate::locate::{locate, Location};
use crate::manager::{reject, reject_with_token, JwtManager};

/// The arguments of the reference's `jwt_required` / `verify_jwt_in_request`.
///
/// `#[jwt_required(...)]` builds one of these at compile time; custom policies build their own.
///
/// ```
/// use jwt_runtime::{Location, VerifyOptions};
/// const ADMIN_API: VerifyOptions = VerifyOptions::new().fresh().locations(&[Location::Headers]);
/// assert!(ADMIN_API.is_fresh() && !ADMIN_API.is_optional());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    optional: bool,
    fresh: bool,
    refresh: bool,
    verify_type: bool,
    skip_revocation_check: bool,
    locations: Option<&'static [Location]>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl VerifyOptions {
    /// A required access token from the configured locations.
    pub const fn new() -> Self {
        VerifyOptions {
            optional: false,
            fresh: false,
            refresh: false,
            verify_type: true,
            skip_revocation_check: false,
            locations: None,
        }
    }

    /// A missing token is allowed: the request continues anonymously. Bad tokens still fail.
    pub const fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// The token must be fresh (`fresh: true`, or a `fresh` timestamp not yet passed).
    pub const fn fresh(mut self) -> Self {
        self.fresh = true;
        self
    }

    /// Only refresh tokens are accepted.
    pub const fn refresh(mut self) -> Self {
        self.refresh = true;
        self
    }

    /// Whether the token type is checked (default true).
    pub const fn verify_type(mut self, verify: bool) -> Self {
        self.verify_type = verify;
        self
    }

    /// Skips the revocation check (honoured once a blocklist is registered).
    pub const fn skip_revocation_check(mut self) -> Self {
        self.skip_revocation_check = true;
        self
    }

    /// Overrides `JWT_TOKEN_LOCATION` for this route; the order is the precedence.
    pub const fn locations(mut self, locations: &'static [Location]) -> Self {
        self.locations = Some(locations);
        self
    }

    /// Whether a missing token is allowed.
    pub const fn is_optional(&self) -> bool {
        self.optional
    }

    /// Whether a fresh token is required.
    pub const fn is_fresh(&self) -> bool {
        self.fresh
    }
}

/// A token that passed every check, with where it was found. Stored in the request extensions
/// for the handler's extractors.
#[derive(Debug, Clone)]
pub struct VerifiedJwt {
    header: JsonObject,
    claims: JsonObject,
    location: Location,
    identity: Value,
}

impl VerifiedJwt {
    /// The JOSE header (`alg`, `typ`, ...).
    pub fn header(&self) -> &JsonObject {
        &self.header
    }

    /// Every claim of the payload.
    pub fn claims(&self) -> &JsonObject {
        &self.claims
    }

    /// Where the token was found.
    pub fn location(&self) -> Location {
        self.location
    }

    /// The identity claim (`JWT_IDENTITY_CLAIM`, `sub` by default).
    pub fn identity(&self) -> &Value {
        &self.identity
    }

    /// The `type` claim, `access` when absent (as the reference).
    pub fn token_type(&self) -> &str {
        self.claims
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("access")
    }

    /// The `jti` claim.
    pub fn jti(&self) -> Option<&str> {
        self.claims.get("jti").and_then(Value::as_str)
    }
}

fn is_fresh(claims: &JsonObject, now: f64) -> bool {
    match claims.get("fresh") {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|until| until >= now),
        _ => false,
    }
}

/// A refusal, with the verified token when the failing check came after verification (so the
/// callbacks get the header and payload the reference passes them; for an expired token, its
/// payload read with `allow_expired`).
#[derive(Debug)]
pub(crate) struct Rejection {
    pub(crate) error: JwtError,
    pub(crate) token: Option<Arc<VerifiedJwt>>,
}

impl From<JwtError> for Rejection {
    fn from(error: JwtError) -> Self {
        Rejection { error, token: None }
    }
}

impl Rejection {
    fn with(error: JwtError, token: &Arc<VerifiedJwt>) -> Self {
        Rejection {
            error,
            token: Some(token.clone()),
        }
    }

    pub(crate) fn into_poem(self, manager: &JwtManager) -> poem::Error {
        reject_with_token(Some(manager), &self.error, self.token.as_deref())
    }
}

/// Step 5: the token has an id a revocation can name (unless `JWT_ALLOW_TOKENS_WITHOUT_JTI`: a
/// token without one could never be revoked on its own) and the store does not list it. A store
/// that cannot answer refuses (fail closed).
pub(crate) async fn check_not_revoked(
    manager: &JwtManager,
    token: &VerifiedJwt,
) -> Result<(), JwtError> {
    let config = &manager.inner().config;
    let info = TokenInfo::from_claims(&token.claims, &config.identity_claim, config.decode_leeway);
    if info.jti.is_none() && !config.allow_tokens_without_jti {
        return Err(JwtError::invalid("Missing claim: jti"));
    }
    match manager.inner().blocklist.is_revoked(&info).await {
        Ok(false) => Ok(()),
        Ok(true) => Err(JwtError::Revoked),
        Err(e) => {
            tracing::error!(target: "jwt_runtime", reason = %e, "revocation store unavailable; refusing (fail closed)");
            Err(JwtError::RevocationUnavailable)
        }
    }
}

/// Steps 1-6. `Ok(None)`: optional route, no token.
async fn run_pipeline(
    manager: &JwtManager,
    req: &mut Request,
    options: &VerifyOptions,
) -> Result<Option<Arc<VerifiedJwt>>, Rejection> {
    let inner = manager.inner();
    let locations = options.locations.unwrap_or(&inner.locations);
    let found = match locate(req, &inner.config, locations, options.refresh).await? {
        Ok(found) => found,
        Err(_) if options.optional => return Ok(None),
        Err(missing) => return Err(JwtError::NoAuthorization(missing.into()).into()),
    };
    let now = manager.now();
    let rules = manager.claim_rules();
    // The decode-key loader sees the unverified header and payload, as in the reference.
    let loaded_key = match &inner.callbacks.decode_key {
        Some(loader) => {
            let (header, payload) = crate::jose::peek(&found.token, rules.max_length)?;
            loader.key(header, payload).await
        }
        None => None,
    };
    let key_for = |header: &JsonObject| match &loaded_key {
        Some(key) => inner.keys.allowed_alg(header).map(|alg| (alg, key)),
        None => inner.keys.decoding_for(header),
    };
    let decoded =
        crate::jose::decode_with(&found.token, key_for, &rules, now, found.csrf.as_deref())?;
    let expired = decoded.expired;
    let identity = decoded
        .claims
        .get(&inner.config.identity_claim)
        .cloned()
        .unwrap_or_default();
    let token = Arc::new(VerifiedJwt {
        header: decoded.header,
        claims: decoded.claims,
        location: found.location,
        identity,
    });
    if expired {
        return Err(Rejection::with(JwtError::Expired, &token));
    }
    if options.verify_type {
        let token_type = token.token_type();
        if options.refresh && token_type != "refresh" {
            return Err(JwtError::invalid("Only refresh tokens are allowed").into());
        }
        if !options.refresh && token_type == "refresh" {
            return Err(JwtError::invalid("Only non-refresh tokens are allowed").into());
        }
    }
    if options.fresh && !is_fresh(&token.claims, now) {
        return Err(Rejection::with(JwtError::FreshRequired, &token));
    }
    if !options.skip_revocation_check {
        check_not_revoked(manager, &token)
            .await
            .map_err(|error| Rejection::with(error, &token))?;
    }
    if let Some(verifier) = &inner.callbacks.token_verification {
        if !verifier.verify(token.clone()).await {
            return Err(Rejection::with(JwtError::ClaimsVerificationFailed, &token));
        }
    }
    Ok(Some(token))
}

/// The reference's `verify_jwt_in_request`: runs the pipeline under `options`, stores the verified
/// token in the request for the extractors, and returns it. `Ok(None)` only on an `optional`
/// route without a token.
///
/// An OPTIONS request (a CORS preflight) on a required route is answered here: the error is an
/// empty `204 No Content`, so `?` returns it and whatever comes after never runs without a
/// verified token. (The reference lets OPTIONS through unauthenticated because Flask answers it
/// before the view; a Poem endpoint receives it.) Poem's `Cors` middleware, when installed above,
/// answers real preflights before they get here.
///
/// This is the building block for custom policies:
///
/// ```
/// use jwt_runtime::{verify_jwt_in_request, JwtManager, VerifyOptions};
/// use poem::{Endpoint, EndpointExt, IntoResponse, Request, http::StatusCode};
///
/// async fn editors_only<E: Endpoint>(next: E, mut req: Request) -> poem::Result<poem::Response> {
///     // `?` answers a refusal, and an OPTIONS preflight with 204, without calling `next`.
///     let token = verify_jwt_in_request(&mut req, &VerifyOptions::new()).await?;
///     let role = token.as_ref().and_then(|t| t.claims().get("role")).and_then(|r| r.as_str());
///     if role != Some("editor") {
///         return Err(poem::Error::from_status(StatusCode::FORBIDDEN));
///     }
///     Ok(next.call(req).await?.into_response())
/// }
/// ```
///
/// # Errors
/// The reference's response for the first check that fails, shaped by the manager's config;
/// `204 No Content` for OPTIONS on a required route.
pub async fn verify_jwt_in_request(
    req: &mut Request,
    options: &VerifyOptions,
) -> poem::Result<Option<Arc<VerifiedJwt>>> {
    if is_preflight(req, options) {
        return Err(poem::Error::from_response(preflight_response()));
    }
    let manager = JwtManager::from_request_extensions(req).map_err(|e| reject(None, &e))?;
    verify_with(&manager, req, options)
        .await
        .map_err(|r| r.into_poem(&manager))
}

/// Whether this request is an OPTIONS request to a route that needs a token: it is answered with
/// [`preflight_response`] and the handler never runs. On an `optional` route OPTIONS goes through
/// the pipeline like any method (anonymous when there is no token).
pub(crate) fn is_preflight(req: &Request, options: &VerifyOptions) -> bool {
    req.method() == Method::OPTIONS && !options.optional
}

/// `204 No Content` with no body: the answer to OPTIONS on a protected route.
pub(crate) fn preflight_response() -> poem::Response {
    tracing::debug!(target: "jwt_runtime", "OPTIONS on a protected route answered without running it");
    poem::Response::builder()
        .status(poem::http::StatusCode::NO_CONTENT)
        .finish()
}

/// The pipeline with its tracing events; the verified token goes into the request extensions.
pub(crate) async fn verify_with(
    manager: &JwtManager,
    req: &mut Request,
    options: &VerifyOptions,
) -> Result<Option<Arc<VerifiedJwt>>, Rejection> {
    match run_pipeline(manager, req, options).await {
        Ok(Some(token)) => {
            tracing::debug!(
                target: "jwt_runtime",
                path = %req.uri().path(),
                location = token.location.as_str(),
                token_type = token.token_type(),
                jti = token.jti().unwrap_or_default(),
                "jwt accepted"
            );
            req.extensions_mut().insert(token.clone());
            Ok(Some(token))
        }
        Ok(None) => {
            tracing::debug!(target: "jwt_runtime", path = %req.uri().path(), "no jwt; optional route continues anonymously");
            Ok(None)
        }
        Err(rejection) => {
            log_rejection(req, &rejection.error);
            Err(rejection)
        }
    }
}

pub(crate) fn log_rejection(req: &Request, error: &JwtError) {
    let status = error.status().as_u16();
    if status >= 500 {
        tracing::error!(target: "jwt_runtime", path = %req.uri().path(), kind = error.kind(), status, reason = error.message(), "jwt check failed");
    } else {
        tracing::info!(target: "jwt_runtime", path = %req.uri().path(), kind = error.kind(), status, reason = error.message(), "jwt rejected");
    }
}
