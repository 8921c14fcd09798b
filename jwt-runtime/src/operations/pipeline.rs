//! The request pipeline, one function every protected route goes through, in the reference's
//! order: locate the token, verify it (signature, claims, CSRF), its type, freshness, revocation,
//! the application's claims check. (User loading and policies follow in the facade.)
//!
//! A handler never runs unless this passed: on a required route an OPTIONS request is answered
//! 204 here, and only an `optional` route continues without a token.

use std::sync::Arc;

use poem::http::Method;
use poem::Request;

use crate::engine::jws::{self, ClaimRules, ClaimsAs, KeyChoice};
use crate::engine::locate::{header_token_bytes, locate, plain_token};
use crate::engine::{remote_slice, Engine};
use crate::operations::session_check::{check_session, membership};
use crate::vocabulary::{BlocklistError, JsonObject, JwtError, Location, TokenType, VerifiedJwt};

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

    /// Whether only refresh tokens are accepted.
    pub const fn is_refresh(&self) -> bool {
        self.refresh
    }

    /// Whether the revocation check is skipped.
    pub const fn skips_revocation_check(&self) -> bool {
        self.skip_revocation_check
    }
}

/// A refusal, with the verified token when the failing check came after verification (so the
/// callbacks get the header and payload the reference passes them; for an expired token, its
/// payload as the reference's `allow_expired` decode reads it).
struct Refusal {
    error: JwtError,
    token: Option<Arc<VerifiedJwt>>,
}

impl From<JwtError> for Refusal {
    fn from(error: JwtError) -> Self {
        Refusal { error, token: None }
    }
}

impl Refusal {
    fn with(error: JwtError, token: &Arc<VerifiedJwt>) -> Self {
        Refusal {
            error,
            token: Some(token.clone()),
        }
    }
}

/// Step 5: the token has an id a revocation can name (unless `JWT_ALLOW_TOKENS_WITHOUT_JTI`: a
/// token without one could never be revoked on its own) and the store does not list it. A store
/// that cannot answer refuses (fail closed). A refresh token of a rotated session is checked as
/// one that is not rotated here ([`check_not_revoked_on`]).
pub(crate) async fn check_not_revoked(
    engine: &Engine,
    token: &VerifiedJwt,
) -> Result<(), JwtError> {
    check_not_revoked_on(engine, token, false).await
}

/// [`check_not_revoked`] on a route that does (`rotates`) or does not rotate the refresh token:
/// under rotation, the token's session is asked about too ([`check_session`]).
pub(crate) async fn check_not_revoked_on(
    engine: &Engine,
    token: &VerifiedJwt,
    rotates: bool,
) -> Result<(), JwtError> {
    if let Some(verdict) = revocation_now(engine, token) {
        return verdict;
    }
    // The store answers by asking it, or the token's session must be asked about too.
    let info = engine.info_of(token);
    let answer = match engine.store.is_revoked_now(info) {
        Some(answer) => answer,
        None => engine.store.is_revoked(info).await,
    };
    revocation_verdict(answer)?;
    check_session(engine, token, rotates).await
}

/// Step 5 when it needs no waiting: a token without an id (refused), or the store's in-place
/// answer ([`Blocklist::is_revoked_now`](crate::stores::Blocklist::is_revoked_now)) for a token
/// outside any rotated session. `None`: [`check_not_revoked`] has to ask.
fn revocation_now(engine: &Engine, token: &VerifiedJwt) -> Option<Result<(), JwtError>> {
    let info = engine.info_of(token);
    if info.jti.is_none() && !engine.config.allow_tokens_without_jti {
        return Some(Err(JwtError::invalid("Missing claim: jti")));
    }
    if membership(engine, token).is_some() {
        return None;
    }
    Some(revocation_verdict(engine.store.is_revoked_now(info)?))
}

/// Whether the store's answer lets the token through; a store error refuses (fail closed).
fn revocation_verdict(revoked: Result<bool, BlocklistError>) -> Result<(), JwtError> {
    match revoked {
        Ok(false) => Ok(()),
        Ok(true) => Err(JwtError::Revoked),
        Err(e) => {
            tracing::error!(target: "jwt_runtime", reason = %e, "revocation store unavailable; refusing (fail closed)");
            Err(JwtError::RevocationUnavailable)
        }
    }
}

/// Where [`verify_from`] picks up what [`verify_now`] could not settle.
pub(crate) enum Resume {
    /// From the start: locate the token.
    Locate,
    /// The header's token, for keys that may route it elsewhere or have to be waited for (see
    /// [`Engine::verifies_alone`]), at the time read for it.
    Header(f64),
    /// A header token that verified (and whether it expired), at the time read for it: the
    /// checks after verification wait for the store, a session or the claims hook.
    Finish((Arc<VerifiedJwt>, bool), f64),
}

/// Steps 1-6 when nothing needs waiting for, the common case: a plain token in the
/// `Authorization` header verified with the manager's own keys, a store that answers in place,
/// no session to ask about, no claims hook. The same answer [`verify`] gives, without building
/// its futures; or where to resume.
pub(crate) fn verify_now(
    engine: &Engine,
    req: &Request,
    options: &VerifyOptions,
) -> Result<poem::Result<Option<Arc<VerifiedJwt>>>, Resume> {
    let locations = options.locations.unwrap_or(&engine.settings.locations);
    if locations.first() != Some(&Location::Headers) {
        return Err(Resume::Locate);
    }
    let Some(bytes) = header_token_bytes(req, &engine.settings, &engine.config) else {
        return Err(Resume::Locate);
    };
    let now = engine.now();
    if !engine.verifies_alone() {
        return Err(Resume::Header(now));
    }
    let rules = engine.claim_rules();
    // A repeated token is found by the header's bytes, before they are checked as text.
    let verified = match engine.cached_header_token(bytes, &rules, now) {
        Some(verified) => verified,
        None => match plain_token(bytes) {
            Some(token) => engine.verify_unseen(token, Location::Headers, &rules, now, None),
            // Not the common `Bearer <token>`: the full rules read the header.
            None => return Err(Resume::Locate),
        },
    };
    let outcome = match verified {
        Err(error) => Err(error.into()),
        Ok(verified) => match finish_now(engine, verified, options, now) {
            Ok(outcome) => outcome,
            Err(verified) => return Err(Resume::Finish(verified, now)),
        },
    };
    Ok(conclude(engine, req, outcome))
}

/// Steps 1-6 from where [`verify_now`] stopped. `Ok(None)`: optional route, no token.
async fn run(
    engine: &Engine,
    req: &mut Request,
    options: &VerifyOptions,
    resume: Resume,
) -> Result<Option<Arc<VerifiedJwt>>, Refusal> {
    match resume {
        Resume::Finish(verified, now) => return finish(engine, verified, options, now).await,
        // `Authorization: Bearer <token>` with headers looked at first is read in place (what
        // `locate` would find there, without copying the token out of the request).
        Resume::Header(now) => {
            let bytes = header_token_bytes(req, &engine.settings, &engine.config);
            if let Some(token) = bytes.and_then(plain_token) {
                return verify_found(engine, options, token, Location::Headers, None, now).await;
            }
        }
        Resume::Locate => {}
    }
    let locations = options.locations.unwrap_or(&engine.settings.locations);
    let token_type = TokenType::of_route(options.refresh);
    let found = match locate(req, &engine.settings, &engine.config, locations, token_type).await? {
        Ok(found) => found,
        Err(_) if options.optional => return Ok(None),
        Err(missing) => return Err(JwtError::NoAuthorization(missing.into()).into()),
    };
    let csrf = found.csrf.as_deref();
    let now = engine.now();
    verify_found(engine, options, &found.token, found.location, csrf, now).await
}

/// Steps 2-6 for the token found at `location` (with the CSRF value submitted beside a cookie),
/// checked against the clock's `now`, read once the token was found.
async fn verify_found(
    engine: &Engine,
    options: &VerifyOptions,
    token: &str,
    location: Location,
    csrf: Option<&str>,
    now: f64,
) -> Result<Option<Arc<VerifiedJwt>>, Refusal> {
    let rules = engine.claim_rules();
    // A trusted issuer's token (by its unverified `iss`) is verified with that issuer's keys and
    // rules only.
    if let Some(issuer) = engine.issuer_of(token) {
        let kid = jws::peek_kid(token, rules.max_length);
        let keys = issuer.keys_for(kid.as_deref()).await;
        let key_for = |header: &JsonObject| issuer.decoding_for(header, &keys);
        // A provider's key set changes: its tokens are not cached.
        let rules = engine.issuer_rules(issuer);
        let decoded = decode_uncached(token, location, key_for, &rules, now, csrf)?;
        return finish(engine, decoded, options, now).await;
    }
    // The decode-key loader sees the unverified header and payload, as in the reference.
    let loaded_key = match &engine.hooks.decode_key {
        Some(loader) => {
            let (header, payload) = jws::peek(token, rules.max_length)?;
            loader.key(header, payload).await
        }
        None => None,
    };
    let verified = match &loaded_key {
        // A loaded key may differ from request to request: never cached.
        Some(key) => {
            let key_for = |header: &JsonObject| {
                engine
                    .keys
                    .allowed_alg(header)
                    .map(|alg| KeyChoice { alg, key, id: None })
            };
            decode_uncached(token, location, key_for, &rules, now, csrf)?
        }
        // A remote key set changes (a key may leave it): never cached either.
        None if engine.has_remote_keys() => {
            let remote = engine.remote_keys_for(token).await;
            let key_for =
                |header: &JsonObject| engine.keys.decoding_for(header, remote_slice(&remote));
            decode_uncached(token, location, key_for, &rules, now, csrf)?
        }
        None => engine.verify_token(token, location, &rules, now, csrf)?,
    };
    finish(engine, verified, options, now).await
}

/// A token found at `location` and verified with keys that may change (a provider's, a loaded or
/// a remote key), so never cached: the verified token and whether it expired, as the pipeline
/// carries them.
fn decode_uncached<'k>(
    token: &str,
    location: Location,
    key_for: impl Fn(&JsonObject) -> Result<KeyChoice<'k>, JwtError>,
    rules: &ClaimRules<'_>,
    now: f64,
    csrf: Option<&str>,
) -> Result<(Arc<VerifiedJwt>, bool), JwtError> {
    let decoded = jws::decode_with(token, key_for, rules, now, csrf, ClaimsAs::Facts)?;
    let parts = Arc::new(decoded.parts);
    Ok((Arc::new(VerifiedJwt::new(parts, location)), decoded.expired))
}

/// Steps 3-6, after the token verified.
async fn finish(
    engine: &Engine,
    (token, expired): (Arc<VerifiedJwt>, bool),
    options: &VerifyOptions,
    now: f64,
) -> Result<Option<Arc<VerifiedJwt>>, Refusal> {
    check_route_needs(&token, expired, options, now)?;
    if !options.skip_revocation_check {
        check_not_revoked_on(engine, &token, options.refresh)
            .await
            .map_err(|error| Refusal::with(error, &token))?;
    }
    if let Some(verifier) = &engine.hooks.token_verification {
        if !verifier.verify(token.clone()).await {
            return Err(Refusal::with(JwtError::ClaimsVerificationFailed, &token));
        }
    }
    Ok(Some(token))
}

/// [`finish`] when nothing needs waiting for (no claims hook, a revocation answered in place);
/// otherwise the token back, for [`finish`].
#[allow(clippy::type_complexity)] // the two outcomes of `finish`'s input, spelled out
fn finish_now(
    engine: &Engine,
    (token, expired): (Arc<VerifiedJwt>, bool),
    options: &VerifyOptions,
    now: f64,
) -> Result<Result<Option<Arc<VerifiedJwt>>, Refusal>, (Arc<VerifiedJwt>, bool)> {
    if engine.hooks.token_verification.is_some() {
        return Err((token, expired));
    }
    if let Err(refusal) = check_route_needs(&token, expired, options, now) {
        return Ok(Err(refusal));
    }
    if !options.skip_revocation_check {
        match revocation_now(engine, &token) {
            Some(Ok(())) => {}
            Some(Err(error)) => return Ok(Err(Refusal::with(error, &token))),
            None => return Err((token, expired)),
        }
    }
    Ok(Ok(Some(token)))
}

/// Steps 3-4: not expired, the route's token type, freshness.
fn check_route_needs(
    token: &Arc<VerifiedJwt>,
    expired: bool,
    options: &VerifyOptions,
    now: f64,
) -> Result<(), Refusal> {
    if expired {
        return Err(Refusal::with(JwtError::Expired, token));
    }
    if options.verify_type {
        let is_refresh = token.token_type() == TokenType::Refresh.as_str();
        if options.refresh && !is_refresh {
            return Err(JwtError::invalid("Only refresh tokens are allowed").into());
        }
        if !options.refresh && is_refresh {
            return Err(JwtError::invalid("Only non-refresh tokens are allowed").into());
        }
    }
    if options.fresh && !token.parts().facts().fresh.at(now) {
        return Err(Refusal::with(JwtError::FreshRequired, token));
    }
    Ok(())
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

/// The pipeline: `Ok(Some(token))` (the caller records it in the request for the extractors),
/// `Ok(None)` on an optional route without a token, or the refusal's response (logged). The
/// caller answers OPTIONS first ([`is_preflight`]).
pub(crate) async fn verify(
    engine: &Engine,
    req: &mut Request,
    options: &VerifyOptions,
) -> poem::Result<Option<Arc<VerifiedJwt>>> {
    match verify_now(engine, req, options) {
        Ok(settled) => settled,
        Err(resume) => verify_from(engine, req, options, resume).await,
    }
}

/// [`verify`] from where [`verify_now`] stopped.
pub(crate) async fn verify_from(
    engine: &Engine,
    req: &mut Request,
    options: &VerifyOptions,
    resume: Resume,
) -> poem::Result<Option<Arc<VerifiedJwt>>> {
    let outcome = run(engine, req, options, resume).await;
    conclude(engine, req, outcome)
}

/// The pipeline's outcome as its caller takes it: logged, a refusal as its response.
fn conclude(
    engine: &Engine,
    req: &Request,
    outcome: Result<Option<Arc<VerifiedJwt>>, Refusal>,
) -> poem::Result<Option<Arc<VerifiedJwt>>> {
    match outcome {
        Ok(Some(token)) => {
            tracing::debug!(
                target: "jwt_runtime",
                path = %req.uri().path(),
                location = token.location().as_str(),
                token_type = token.token_type(),
                jti = token.jti().unwrap_or_default(),
                "jwt accepted"
            );
            Ok(Some(token))
        }
        Ok(None) => {
            tracing::debug!(target: "jwt_runtime", path = %req.uri().path(), "no jwt; optional route continues anonymously");
            Ok(None)
        }
        Err(refusal) => Err(engine.refuse(req, &refusal.error, refusal.token.as_deref())),
    }
}
