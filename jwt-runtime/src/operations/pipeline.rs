//! The request pipeline, one function every protected route goes through, in the reference's
//! order: locate the token, verify it (signature, claims, CSRF), its type, freshness, scopes,
//! revocation, the application's claims check. (User loading and policies follow in the facade.)
//!
//! Each step is written once. The steps after verification ([`settle`]) decide from what is at
//! hand or name what they have to wait for ([`Wait`]); two drivers run them: [`verify_now`] as
//! far as they go without waiting (the common case: a repeated header token, a store that answers
//! in place) and [`verify_from`], which resumes where it stopped ([`Resume`]), waits for each
//! answer ([`Answers`]) and runs the same step again with it.
//!
//! A handler never runs unless this passed: on a required route an OPTIONS request is answered
//! 204 here, and only an `optional` route continues without a token.

use std::sync::Arc;

use poem::http::Method;
use poem::Request;

use crate::engine::dpop::DPOP_HEADER;
use crate::engine::locate::{header_token_bytes, locate, plain_token, Scheme};
use crate::engine::{remote_slice, Engine, VerifiedBy};
use crate::jose::dpop::DpopProof;
use crate::jose::jws::{self, KeyChoice, KeyOrigin};
use crate::operations::dpop::{check_binding, replay_verdict, PipelineProof, Presented};
use crate::operations::session_check::{check_session, check_session_now, membership};
use crate::vocabulary::{
    BlocklistError, DpopMode, JsonObject, JwtError, Location, Scopes, TokenType, VerifiedJwt,
};

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
    /// `issuer = "..."`: the issuers whose tokens the route accepts.
    issuers: Option<&'static [&'static str]>,
    scopes: Option<Scopes>,
    /// `dpop = "..."`: the route's DPoP policy (`None`: `JWT_DPOP`).
    dpop: Option<DpopMode>,
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
            issuers: None,
            scopes: None,
            dpop: None,
        }
    }

    /// A missing token is allowed: the request continues anonymously. Bad tokens still fail.
    pub const fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// These options with a token required (`optional` undone).
    pub(crate) const fn required(mut self) -> Self {
        self.optional = false;
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

    /// Accepts only tokens whose `iss` is one of `issuers` (`#[jwt_required(issuer = "...")]`):
    /// a token of another issuer, trusted or not, or of none, is refused with 422 `Invalid
    /// issuer` (`Token is missing the "iss" claim` without one), PyJWT's messages. An empty list
    /// accepts no token.
    ///
    /// ```
    /// use jwt_runtime::VerifyOptions;
    /// const PARTNER_ONLY: VerifyOptions = VerifyOptions::new().issuers(&["https://partner.example"]);
    /// assert_eq!(PARTNER_ONLY.accepted_issuers(), Some(&["https://partner.example"][..]));
    /// ```
    pub const fn issuers(mut self, issuers: &'static [&'static str]) -> Self {
        self.issuers = Some(issuers);
        self
    }

    /// The issuers the route accepts (`None`: any the manager accepts).
    pub const fn accepted_issuers(&self) -> Option<&'static [&'static str]> {
        self.issuers
    }

    /// The OAuth scopes the token must hold (`#[jwt_required(scopes = "...")]`), checked after
    /// its type and freshness: a token lacking them is refused with 403 (see [`Scopes`]).
    ///
    /// ```
    /// use jwt_runtime::{Scopes, VerifyOptions};
    /// const NOTES: VerifyOptions = VerifyOptions::new().scopes(Scopes::all(&["notes:read"]));
    /// assert_eq!(NOTES.required_scopes().map(Scopes::names), Some(&["notes:read"][..]));
    /// ```
    pub const fn scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// The scopes the token must hold, if any.
    pub const fn required_scopes(&self) -> Option<&Scopes> {
        self.scopes.as_ref()
    }

    /// The route's DPoP policy (RFC 9449), over the manager's `JWT_DPOP`
    /// (`#[jwt_required(dpop)]` is `DpopMode::Required`, `dpop = "allowed"` `DpopMode::Allowed`):
    /// `Required` takes only `Authorization: DPoP <bound token>` with a valid `DPoP` proof;
    /// `Allowed` also a `Bearer` unbound token; `Disabled` only `Bearer`. A DPoP-bound token
    /// sent as `Bearer` is refused under every policy.
    ///
    /// ```
    /// use jwt_runtime::{DpopMode, VerifyOptions};
    /// const BOUND_ONLY: VerifyOptions = VerifyOptions::new().dpop(DpopMode::Required);
    /// assert_eq!(BOUND_ONLY.dpop_mode(), Some(DpopMode::Required));
    /// assert_eq!(VerifyOptions::new().dpop_mode(), None);
    /// ```
    pub const fn dpop(mut self, mode: DpopMode) -> Self {
        self.dpop = Some(mode);
        self
    }

    /// The route's own DPoP policy (`None`: the manager's `JWT_DPOP`).
    pub const fn dpop_mode(&self) -> Option<DpopMode> {
        self.dpop
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

/// What a step has to wait for before it can decide: the async driver gets the answer
/// ([`Answers`]) and runs the same step again with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// The revocation store (step 5).
    Store(StoreQuestion),
    /// The application's claims check (step 6, the reference's `token_verification_loader`).
    Hook,
}

/// What step 5 asks the store when it has no answer at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreQuestion {
    /// Is this token revoked ([`Blocklist::is_revoked`](crate::stores::Blocklist::is_revoked)).
    Revoked,
    /// May the token pass in its rotated session ([`check_session`]), on a route that does or
    /// does not rotate it.
    Session { rotates: bool },
    /// Is this the first time the request's DPoP proof is seen
    /// ([`Blocklist::record_proof`](crate::stores::Blocklist::record_proof)): the last question
    /// of a request, once every other step passed.
    Proof,
}

/// The answers waited for so far, for the steps after verification.
#[derive(Default)]
pub(crate) struct Answers {
    revoked: Option<Result<bool, BlocklistError>>,
    session: Option<Result<(), JwtError>>,
    hook: Option<bool>,
    /// The replay record's answer (`true`: first seen).
    proof: Option<Result<bool, BlocklistError>>,
}

impl Answers {
    /// Waits for what `wait` names, about `token` (and the request's DPoP `proof`).
    async fn wait_for(
        &mut self,
        engine: &Engine,
        token: &Arc<VerifiedJwt>,
        proof: Option<&DpopProof>,
        wait: Wait,
    ) {
        match wait {
            Wait::Store(StoreQuestion::Proof) => {
                if let Some(proof) = proof {
                    let record = engine.proof_record(proof);
                    self.proof = Some(engine.store.record_proof(&record).await);
                }
            }
            Wait::Store(question) => self.ask_store(engine, token, question).await,
            Wait::Hook => {
                self.hook = Some(match &engine.hooks.token_verification {
                    Some(verifier) => verifier.verify(token.clone()).await,
                    None => true,
                });
            }
        }
    }

    /// Asks the store `question` about `token`.
    async fn ask_store(&mut self, engine: &Engine, token: &VerifiedJwt, question: StoreQuestion) {
        match question {
            StoreQuestion::Revoked => {
                self.revoked = Some(engine.store.is_revoked(token.parts().store_info()).await);
            }
            StoreQuestion::Session { rotates } => {
                self.session = Some(check_session(engine, token, rotates).await);
            }
            // Asked in `wait_for`, which has the proof.
            StoreQuestion::Proof => {}
        }
    }
}

/// Step 5: while a revocation store is in use, the token has an id a revocation can name (unless
/// `JWT_ALLOW_TOKENS_WITHOUT_JTI`: a token without one could never be revoked on its own); the
/// store does not list it; under rotation, it may pass in its session ([`check_session`]: on a
/// route that does not `rotate` it, a retired refresh token is refused). A store that cannot
/// answer refuses (fail closed). `Err`: what to ask the store first.
fn revocation(
    engine: &Engine,
    token: &VerifiedJwt,
    rotates: bool,
    answers: &Answers,
) -> Result<Result<(), JwtError>, StoreQuestion> {
    let info = token.parts().store_info();
    if info.jti.is_none() && engine.requires_jti() {
        return Ok(Err(JwtError::invalid("Missing claim: jti")));
    }
    // The session's verdict, when it is at hand (a store answering in place, or awaited).
    let session = match &answers.session {
        Some(verdict) => Some(verdict.clone()),
        None if membership(engine, token).is_none() => Some(Ok(())),
        None => check_session_now(engine, token, rotates),
    };
    let in_place;
    let revoked = match &answers.revoked {
        Some(answer) => answer.as_ref().copied(),
        None => match engine.store.is_revoked_now(info) {
            Some(answer) => {
                in_place = answer;
                in_place.as_ref().copied()
            }
            // A session known ended refuses without asking (as a store whose mirror is stale
            // still refuses what it holds).
            None => return session.filter(Result::is_err).ok_or(StoreQuestion::Revoked),
        },
    };
    if let Err(refused) = revocation_verdict(revoked) {
        return Ok(Err(refused));
    }
    session.ok_or(StoreQuestion::Session { rotates })
}

/// Step 5 on its own, awaited: for what re-issues a token (rotation, implicit refresh) from one
/// whose route skipped the check. `rotates`: the token is a refresh token being rotated.
pub(crate) async fn check_not_revoked(
    engine: &Engine,
    token: &VerifiedJwt,
    rotates: bool,
) -> Result<(), JwtError> {
    let mut answers = Answers::default();
    loop {
        match revocation(engine, token, rotates, &answers) {
            Ok(verdict) => return verdict,
            Err(question) => answers.ask_store(engine, token, question).await,
        }
    }
}

/// Whether the store's answer lets the token through; a store error refuses (fail closed).
fn revocation_verdict(revoked: Result<bool, &BlocklistError>) -> Result<(), JwtError> {
    match revoked {
        Ok(false) => Ok(()),
        Ok(true) => Err(JwtError::Revoked),
        Err(e) => {
            tracing::error!(target: "jwt_runtime", reason = %e, "revocation store unavailable; refusing (fail closed)");
            Err(JwtError::RevocationUnavailable)
        }
    }
}

/// Steps 3-6 for a token that verified (and whether it expired), presented as `presented`
/// says, from what is at hand and what `answers` holds, then the DPoP proof's replay record
/// (last: a refused request never uses up its proof): `Ok` decides, `Err` names what to wait
/// for first.
fn settle(
    engine: &Engine,
    token: &Arc<VerifiedJwt>,
    expired: bool,
    options: &VerifyOptions,
    now: f64,
    presented: Presented<'_>,
    answers: &Answers,
) -> Result<Result<(), Refusal>, Wait> {
    if let Err(refusal) = check_route_needs(engine, token, expired, options, now, presented) {
        return Ok(Err(refusal));
    }
    if !options.skip_revocation_check {
        let rotates = options.refresh;
        if let Err(error) = revocation(engine, token, rotates, answers).map_err(Wait::Store)? {
            return Ok(Err(Refusal::with(error, token)));
        }
    }
    if engine.hooks.token_verification.is_some() {
        match answers.hook {
            None => return Err(Wait::Hook),
            Some(false) => {
                return Ok(Err(Refusal::with(
                    JwtError::ClaimsVerificationFailed,
                    token,
                )))
            }
            Some(true) => {}
        }
    }
    if let Some(proof) = presented.proof {
        let in_place;
        let answer = match &answers.proof {
            Some(answer) => answer.as_ref().copied(),
            // Recorded here when the store answers in place: this is the last step, so the
            // verdict below is final and the record is never made twice.
            None => match engine.store.record_proof_now(&engine.proof_record(proof)) {
                Some(answer) => {
                    in_place = answer;
                    in_place.as_ref().copied()
                }
                None => return Err(Wait::Store(StoreQuestion::Proof)),
            },
        };
        if let Err(refused) = replay_verdict(answer) {
            return Ok(Err(Refusal::with(refused, token)));
        }
    }
    Ok(Ok(()))
}

/// A verified token on its way through steps 3-6.
pub(crate) struct Verified {
    token: Arc<VerifiedJwt>,
    expired: bool,
    /// The time read for it, once.
    now: f64,
    /// The scheme it was presented under.
    scheme: Scheme,
    /// The DPoP proof verified with it (under the `DPoP` scheme).
    proof: Option<Arc<DpopProof>>,
    answers: Answers,
}

impl Verified {
    /// A token verified at `now`, presented as a bearer token.
    fn bearer(token: Arc<VerifiedJwt>, expired: bool, now: f64) -> Self {
        Verified {
            token,
            expired,
            now,
            scheme: Scheme::Bearer,
            proof: None,
            answers: Answers::default(),
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
    /// A token that verified: steps 3-6 wait for the store, a session or the claims hook.
    Settle(Box<Verified>),
}

/// Steps 1-6 as far as they go without waiting, the common case: a plain token in the
/// `Authorization` header that the verified-token cache holds (whichever key verified it: the
/// manager's own, its remote set's, a trusted issuer's) or that the manager's own keys verify
/// alone, a store that answers in place, no session to ask about, no claims hook. `Ok`: decided
/// (the caller's answer, as [`verify`] gives it); `Err`: where [`verify_from`] resumes.
pub(crate) fn verify_now(
    engine: &Engine,
    req: &Request,
    options: &VerifyOptions,
) -> Result<poem::Result<Option<Arc<VerifiedJwt>>>, Resume> {
    let locations = options.locations.unwrap_or(&engine.settings.locations);
    if locations.first() != Some(&Location::Headers) {
        return Err(Resume::Locate);
    }
    // A DPoP route or a request with a proof: the proof is verified by the async driver (a
    // bound token sent as `Bearer` is still refused here, by `settle`).
    if engine.settings.dpop.mode_of(options.dpop).is_on() || req.headers().contains_key(DPOP_HEADER)
    {
        return Err(Resume::Locate);
    }
    let Some(bytes) = header_token_bytes(req, &engine.settings, &engine.config) else {
        return Err(Resume::Locate);
    };
    let now = engine.now();
    // A repeated token is found by the header's bytes, before they are checked as text.
    let verified = match engine.cached_token(bytes, Location::Headers, now, None) {
        Some(verified) => verified,
        None if engine.verifies_alone() => match plain_token(bytes) {
            Some(token) => {
                let rules = engine.claim_rules();
                engine.verify_unseen(token, Location::Headers, &rules, now, None)
            }
            // Not the common `Bearer <token>`: the full rules read the header.
            None => return Err(Resume::Locate),
        },
        // Keys that may route it elsewhere or have to be waited for.
        None => return Err(Resume::Header(now)),
    };
    let (token, expired) = match verified {
        Ok(verified) => verified,
        Err(error) => return Ok(conclude(engine, req, Err(error.into()))),
    };
    let answers = Answers::default();
    match settle(
        engine,
        &token,
        expired,
        options,
        now,
        Presented::BEARER,
        &answers,
    ) {
        Ok(verdict) => Ok(conclude(engine, req, verdict.map(|()| Some(token)))),
        Err(_) => Err(Resume::Settle(Box::new(Verified::bearer(
            token, expired, now,
        )))),
    }
}

/// Steps 1-6 from where [`verify_now`] stopped, awaiting what they wait for. `Ok(None)`:
/// optional route, no token.
async fn run(
    engine: &Engine,
    req: &mut Request,
    options: &VerifyOptions,
    resume: Resume,
) -> Result<Option<Arc<VerifiedJwt>>, Refusal> {
    let mut verified = match resume {
        Resume::Settle(verified) => *verified,
        Resume::Header(now) => match verify_header(engine, req, now).await? {
            Some(verified) => verified,
            None => match verify_located(engine, req, options).await? {
                Some(verified) => verified,
                None => return Ok(None),
            },
        },
        Resume::Locate => match verify_located(engine, req, options).await? {
            Some(verified) => verified,
            None => return Ok(None),
        },
    };
    loop {
        let Verified {
            token,
            expired,
            now,
            scheme,
            proof,
            answers,
        } = &mut verified;
        let presented = Presented {
            scheme: *scheme,
            proof: proof.as_deref(),
        };
        match settle(engine, token, *expired, options, *now, presented, answers) {
            Ok(Ok(())) => {
                if let Some(proof) = verified.proof {
                    req.extensions_mut().insert(PipelineProof(proof));
                }
                return Ok(Some(verified.token));
            }
            Ok(Err(refusal)) => return Err(refusal),
            Err(wait) => {
                answers
                    .wait_for(engine, token, proof.as_deref(), wait)
                    .await
            }
        }
    }
}

/// Steps 1-2 for `Authorization: Bearer <token>` with headers looked at first, read in place
/// (what `locate` would find there, without copying the token out of the request). `None`: not
/// that form; the full rules read the request.
async fn verify_header(
    engine: &Engine,
    req: &Request,
    now: f64,
) -> Result<Option<Verified>, Refusal> {
    let bytes = header_token_bytes(req, &engine.settings, &engine.config);
    let Some(token) = bytes.and_then(plain_token) else {
        return Ok(None);
    };
    let (token, expired) = verify_found(engine, token, Location::Headers, None, now).await?;
    Ok(Some(Verified::bearer(token, expired, now)))
}

/// Steps 1-2 by the route's locations, in order. `None`: optional route, no token.
async fn verify_located(
    engine: &Engine,
    req: &mut Request,
    options: &VerifyOptions,
) -> Result<Option<Verified>, Refusal> {
    let locations = options.locations.unwrap_or(&engine.settings.locations);
    let token_type = TokenType::of_route(options.refresh);
    let dpop = engine.settings.dpop.mode_of(options.dpop).is_on();
    let found = match locate(
        req,
        &engine.settings,
        &engine.config,
        locations,
        token_type,
        dpop,
    )
    .await?
    {
        Ok(found) => found,
        Err(_) if options.optional => return Ok(None),
        Err(missing) => return Err(JwtError::NoAuthorization(missing.into()).into()),
    };
    let csrf = found.csrf.as_deref();
    let now = engine.now();
    let (token, expired) = verify_found(engine, &found.token, found.location, csrf, now).await?;
    // Step 2 for a token presented under `DPoP`: its proof, once the token verified (its
    // binding to the proof's key is a route check, `check_route_needs`).
    let proof = match found.scheme {
        Scheme::Dpop => match engine.request_proof(req, Some(&found.token), false) {
            Ok(proof) => Some(Arc::new(proof)),
            Err(error) => return Err(Refusal::with(error, &token)),
        },
        Scheme::Bearer => None,
    };
    Ok(Some(Verified {
        scheme: found.scheme,
        proof,
        ..Verified::bearer(token, expired, now)
    }))
}

/// Step 2 for the token found at `location` (with the CSRF value submitted beside a cookie),
/// checked against the clock's `now`, read once the token was found: the verified token and
/// whether it expired.
async fn verify_found(
    engine: &Engine,
    token: &str,
    location: Location,
    csrf: Option<&str>,
    now: f64,
) -> Result<(Arc<VerifiedJwt>, bool), JwtError> {
    // A token verified before, under the keys and rules that verify it now.
    if let Some(cached) = engine.cached_token(token.as_bytes(), location, now, csrf) {
        return cached;
    }
    let rules = engine.claim_rules();
    // A trusted issuer's token (by its unverified `iss`) is verified with that issuer's keys and
    // rules only.
    if let Some((index, issuer)) = engine.issuer_of(token) {
        let kid = jws::peek_kid(token, rules.max_length);
        let keys = issuer.keys_for(kid.as_deref()).await;
        let key_for = |header: &JsonObject| issuer.decoding_for(header, &keys);
        let rules = engine.issuer_rules(issuer);
        let by = VerifiedBy::Issuer(index);
        return engine.verify_and_keep(token, location, by, key_for, &rules, now, csrf);
    }
    // The decode-key loader sees the unverified header and payload, as in the reference.
    let loaded_key = match &engine.hooks.decode_key {
        Some(loader) => {
            let (header, payload) = jws::peek(token, rules.max_length)?;
            loader.key(header, payload).await
        }
        None => None,
    };
    match &loaded_key {
        // A loaded key may differ from request to request: it has no `InSet` flag, so its
        // tokens are never kept.
        Some(key) => {
            let key_for = |header: &JsonObject| {
                engine.keys.allowed_alg(header).map(|alg| KeyChoice {
                    alg,
                    key,
                    id: None,
                    in_set: None,
                    origin: KeyOrigin::Loaded,
                })
            };
            engine.verify_and_keep(token, location, VerifiedBy::Own, key_for, &rules, now, csrf)
        }
        // A remote key's tokens are kept while the key is in the provider's set.
        None if engine.has_remote_keys() => {
            let remote = engine.remote_keys_for(token).await?;
            let key_for =
                |header: &JsonObject| engine.keys.decoding_for(header, remote_slice(&remote));
            engine.verify_with(token, location, VerifiedBy::Own, key_for, &rules, now, csrf)
        }
        None => engine.verify_token(token, location, &rules, now, csrf),
    }
}

/// Steps 3-4: not expired, the route's issuers, the route's token type, freshness, scopes. The `type`
/// and `fresh` claims are this app's own: a token issued elsewhere is never fresh and never a
/// refresh token unless its issuer is trusted for them ([`Engine::trusts_app_claims`]), so no
/// provider's token opens a refresh route or a fresh one (and one claiming `type: refresh` is
/// still refused on access routes).
fn check_route_needs(
    engine: &Engine,
    token: &Arc<VerifiedJwt>,
    expired: bool,
    options: &VerifyOptions,
    now: f64,
    presented: Presented<'_>,
) -> Result<(), Refusal> {
    // The DPoP binding (RFC 9449 section 7): for both drivers, so a bound token served from the
    // cache as `Bearer` is refused too.
    let mode = engine.settings.dpop.mode_of(options.dpop);
    check_binding(token, mode, presented).map_err(|e| Refusal::with(e, token))?;
    if expired {
        return Err(Refusal::with(JwtError::Expired, token));
    }
    if let Some(issuers) = options.issuers {
        jws::check_issuer(token.claims(), issuers).map_err(|e| Refusal::with(e, token))?;
    }
    // Asked only when a claim of the app's would open a route (a refresh or fresh route).
    let app_claims = || engine.trusts_app_claims(token);
    if options.verify_type {
        let is_refresh = token.token_type() == TokenType::Refresh.as_str();
        // A refresh token of the provider's is no refresh token here, and still no access token.
        if options.refresh && !(is_refresh && app_claims()) {
            return Err(JwtError::invalid("Only refresh tokens are allowed").into());
        }
        if !options.refresh && is_refresh {
            return Err(JwtError::invalid("Only non-refresh tokens are allowed").into());
        }
    }
    if options.fresh && !(token.parts().facts().fresh.at(now) && app_claims()) {
        return Err(Refusal::with(JwtError::FreshRequired, token));
    }
    if let Some(scopes) = &options.scopes
        && let Err(refused) = scopes.check(token.claims())
    {
        return Err(Refusal::with(refused, token));
    }
    Ok(())
}

/// Whether this request is an OPTIONS request to a route that needs a token: it is answered with
/// [`preflight_response`](crate::engine::preflight_response) and the handler never runs. On an `optional` route OPTIONS goes through
/// the pipeline like any method (anonymous when there is no token).
pub(crate) fn is_preflight(req: &Request, options: &VerifyOptions) -> bool {
    req.method() == Method::OPTIONS && !options.optional
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
