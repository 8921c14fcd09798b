//! The errors: [`JwtError`] (a refusal, with its [`ErrorKind`]), [`ConfigError`] (found once at
//! startup) and [`BlocklistError`] (a revocation store could not answer).
//!
//! Every kind's name, default status and fixed message live in one table ([`error_kinds!`]).

use std::borrow::Cow;
use std::fmt;

use poem::http::StatusCode;

/// Declares [`ErrorKind`] from one table: variant, name (the key of `JWT_STATUS_CODES`), default
/// status (the reference's), and the fixed message of kinds that have one.
macro_rules! error_kinds {
    ($( $(#[$doc:meta])* $kind:ident => $name:literal, $status:ident, $message:expr; )*) => {
        /// The kind of a [`JwtError`]: its name, default status and (for some) fixed message.
        ///
        /// ```
        /// use jwt_runtime::ErrorKind;
        /// assert_eq!(ErrorKind::Revoked.name(), "revoked");
        /// assert_eq!(ErrorKind::Revoked.default_status().as_u16(), 401);
        /// assert_eq!("invalid_token".parse::<ErrorKind>(), Ok(ErrorKind::InvalidToken));
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ErrorKind {
            $( $(#[$doc])* $kind, )*
        }

        impl ErrorKind {
            /// Every kind, in the table's order.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$kind),*];

            /// The kind's stable name: the key of `JWT_STATUS_CODES`, the `kind` of log events.
            pub const fn name(self) -> &'static str {
                match self { $(ErrorKind::$kind => $name,)* }
            }

            /// The reference's status for this kind.
            pub const fn default_status(self) -> StatusCode {
                match self { $(ErrorKind::$kind => StatusCode::$status,)* }
            }

            const fn fixed_message(self) -> Option<&'static str> {
                match self { $(ErrorKind::$kind => $message,)* }
            }
        }
    };
}

error_kinds! {
    /// No token in any location (the reference's `NoAuthorizationError`).
    NoAuthorization => "no_authorization", UNAUTHORIZED, None;
    /// A cookie token failed its CSRF double-submit check.
    Csrf => "csrf", UNAUTHORIZED, None;
    /// A present token (or its carrier) is malformed, fails verification or has the wrong type.
    InvalidToken => "invalid_token", UNPROCESSABLE_ENTITY, None;
    /// `exp` is in the past.
    Expired => "expired", UNAUTHORIZED, Some("Token has expired");
    /// The route wants a fresh token.
    FreshRequired => "fresh_required", UNAUTHORIZED, Some("Fresh token required");
    /// The token was revoked.
    Revoked => "revoked", UNAUTHORIZED, Some("Token has been revoked");
    /// A retired refresh token was presented again (`JWT_REFRESH_ROTATION`): its session is ended.
    RefreshReused => "refresh_reused", UNAUTHORIZED, Some("Refresh token reuse detected");
    /// The revocation store could not answer (fail closed).
    RevocationUnavailable => "revocation_unavailable", SERVICE_UNAVAILABLE, Some("Token revocation store unavailable");
    /// The user loader found no user for the identity.
    UserLookup => "user_lookup", UNAUTHORIZED, None;
    /// The user loader itself failed (a database error, say).
    UserLookupFailed => "user_lookup_failed", INTERNAL_SERVER_ERROR, Some("User lookup failed");
    /// The reference's `token_verification_loader` said no.
    ClaimsVerificationFailed => "claims_verification_failed", BAD_REQUEST, Some("User claims verification failed");
    /// The body carrying the token (or the CSRF form field) is over `JWT_JSON_BODY_LIMIT`.
    PayloadTooLarge => "payload_too_large", PAYLOAD_TOO_LARGE, None;
    /// A policy refused a valid token.
    Forbidden => "forbidden", FORBIDDEN, None;
    /// The token lacks a scope the route requires ([`Scopes`](crate::Scopes)).
    InsufficientScope => "insufficient_scope", FORBIDDEN, None;
    /// The server is misconfigured.
    Misconfigured => "misconfigured", INTERNAL_SERVER_ERROR, None;
    /// A token could not be created.
    TokenCreation => "token_creation", INTERNAL_SERVER_ERROR, None;
    /// A cookie could not be written.
    Cookie => "cookie", INTERNAL_SERVER_ERROR, None;
    /// A DPoP proof (RFC 9449) is missing, malformed, fails a check or was seen before.
    InvalidDpopProof => "invalid_dpop_proof", UNAUTHORIZED, None;
    /// A valid DPoP proof without the server's current nonce: retry with the `DPoP-Nonce` given
    /// (401 at a protected route, 400 at a token endpoint).
    UseDpopNonce => "use_dpop_nonce", UNAUTHORIZED, Some("DPoP proof requires a valid nonce: retry with the DPoP-Nonce given");
    /// A token's DPoP binding does not hold: a bound token as `Bearer`, an unbound token under
    /// `DPoP`, a proof by another key, or no bound token on a route that requires DPoP.
    DpopBinding => "dpop_binding", UNAUTHORIZED, None;
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ErrorKind {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        ErrorKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or(())
    }
}

/// Why a request was refused (or a token could not be made).
///
/// The default response of each kind is the reference's: a JSON body `{"<JWT_ERROR_MESSAGE_KEY>":
/// "<message>"}` with the kind's status ([`ErrorKind::default_status`], or its `JWT_STATUS_CODES`
/// override).
///
/// ```
/// use jwt_runtime::{ErrorKind, JwtError};
/// let e = JwtError::NoAuthorization("Missing Authorization Header".into());
/// assert_eq!(e.kind(), ErrorKind::NoAuthorization);
/// assert_eq!(e.status().as_u16(), 401);
/// assert_eq!(e.message(), "Missing Authorization Header");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtError {
    /// No token in any location (the reference's `NoAuthorizationError`): 401.
    NoAuthorization(Cow<'static, str>),
    /// A cookie token failed its CSRF double-submit check: 401.
    Csrf(Cow<'static, str>),
    /// A present token (or its carrier) is malformed or fails verification, or has the wrong
    /// type: 422, with the message the reference gives.
    InvalidToken(Cow<'static, str>),
    /// `exp` is in the past: 401 `Token has expired`.
    Expired,
    /// The route wants a fresh token: 401 `Fresh token required`.
    FreshRequired,
    /// The token was revoked: 401 `Token has been revoked`.
    Revoked,
    /// Under `JWT_REFRESH_ROTATION`, a refresh token already exchanged for a new one was
    /// presented again after its replacement was used and the grace window passed (or two
    /// rotations back): a sign it was copied. Its whole session is ended. 401 `Refresh token
    /// reuse detected`.
    RefreshReused,
    /// A custom claims check failed: 400 `User claims verification failed`.
    ClaimsVerificationFailed,
    /// The body that would carry the token (or the CSRF form field) is larger than
    /// `JWT_JSON_BODY_LIMIT`: 413.
    PayloadTooLarge(Cow<'static, str>),
    /// A policy (such as `#[admin_required]`) refused a valid token: 403 with its message.
    Forbidden(Cow<'static, str>),
    /// The token lacks a scope the route requires (`#[jwt_required(scopes = "...")]`, see
    /// [`Scopes`](crate::Scopes)): 403 with a message naming what is missing.
    InsufficientScope {
        /// The refusal message (`Missing scope: notes:write`).
        message: Cow<'static, str>,
        /// The scopes the route requires, space-separated (the `scope` of an RFC 6750
        /// `insufficient_scope` challenge).
        scope: Cow<'static, str>,
    },
    /// The revocation store could not answer, so the token cannot be trusted (fail closed):
    /// 503 `Token revocation store unavailable`.
    RevocationUnavailable,
    /// The user lookup returned nothing for the identity: 401 `Error loading the user <identity>`.
    UserLookup(Cow<'static, str>),
    /// The user loader failed (its `Result` was an error, logged): 500 `User lookup failed`.
    UserLookupFailed,
    /// The server is misconfigured (for example the `JwtManager` middleware is missing): 500.
    Misconfigured(Cow<'static, str>),
    /// A token could not be created (claims that are not a JSON object, a signing failure): 500.
    TokenCreation(Cow<'static, str>),
    /// A cookie could not be written: a `CookieOptions` value or a token that would inject
    /// attributes (`;`, control characters, ...). An application error: 500.
    Cookie(Cow<'static, str>),
    /// The request's DPoP proof (RFC 9449) is missing, malformed, fails a check of section 4.3
    /// or was accepted before (a replay): 401 with `WWW-Authenticate: DPoP
    /// error="invalid_dpop_proof", algs="..."`.
    InvalidDpopProof(Cow<'static, str>),
    /// The proof is valid but lacks the server's current nonce (`JWT_DPOP_NONCE`): 401 at a
    /// protected route, 400 at a token endpoint, with `WWW-Authenticate: DPoP
    /// error="use_dpop_nonce"` and a `DPoP-Nonce` header carrying `nonce`. The proof was not
    /// recorded: the client retries with the nonce.
    UseDpopNonce {
        /// The fresh nonce to send back in the `DPoP-Nonce` header.
        nonce: String,
        /// Answered where tokens are issued (an unprotected route's [`DpopProof`](crate::DpopProof)
        /// extractor): 400 instead of 401 (RFC 9449 section 8).
        at_token_endpoint: bool,
    },
    /// The token's DPoP binding does not hold: a DPoP-bound token sent as `Bearer` (RFC 9449
    /// section 7.2), an unbound token sent as `DPoP`, a proof made with another key than the one
    /// the token is bound to, or a route requiring DPoP reached without it: 401 with
    /// `WWW-Authenticate: DPoP error="invalid_token"`.
    DpopBinding(Cow<'static, str>),
}

impl JwtError {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            JwtError::NoAuthorization(_) => ErrorKind::NoAuthorization,
            JwtError::Csrf(_) => ErrorKind::Csrf,
            JwtError::InvalidToken(_) => ErrorKind::InvalidToken,
            JwtError::Expired => ErrorKind::Expired,
            JwtError::FreshRequired => ErrorKind::FreshRequired,
            JwtError::Revoked => ErrorKind::Revoked,
            JwtError::RefreshReused => ErrorKind::RefreshReused,
            JwtError::ClaimsVerificationFailed => ErrorKind::ClaimsVerificationFailed,
            JwtError::PayloadTooLarge(_) => ErrorKind::PayloadTooLarge,
            JwtError::Forbidden(_) => ErrorKind::Forbidden,
            JwtError::InsufficientScope { .. } => ErrorKind::InsufficientScope,
            JwtError::RevocationUnavailable => ErrorKind::RevocationUnavailable,
            JwtError::UserLookup(_) => ErrorKind::UserLookup,
            JwtError::UserLookupFailed => ErrorKind::UserLookupFailed,
            JwtError::Misconfigured(_) => ErrorKind::Misconfigured,
            JwtError::TokenCreation(_) => ErrorKind::TokenCreation,
            JwtError::Cookie(_) => ErrorKind::Cookie,
            JwtError::InvalidDpopProof(_) => ErrorKind::InvalidDpopProof,
            JwtError::UseDpopNonce { .. } => ErrorKind::UseDpopNonce,
            JwtError::DpopBinding(_) => ErrorKind::DpopBinding,
        }
    }

    /// The default HTTP status of this kind (the reference's).
    pub fn status(&self) -> StatusCode {
        self.kind().default_status()
    }

    /// The message of the default body, byte for byte the reference's.
    pub fn message(&self) -> &str {
        match self {
            JwtError::NoAuthorization(m)
            | JwtError::Csrf(m)
            | JwtError::InvalidToken(m)
            | JwtError::Forbidden(m)
            | JwtError::PayloadTooLarge(m)
            | JwtError::UserLookup(m)
            | JwtError::Misconfigured(m)
            | JwtError::TokenCreation(m)
            | JwtError::Cookie(m)
            | JwtError::InvalidDpopProof(m)
            | JwtError::DpopBinding(m)
            | JwtError::InsufficientScope { message: m, .. } => m,
            other => other.kind().fixed_message().unwrap_or_default(),
        }
    }

    /// The message of the default response body: [`message`](Self::message), except for a
    /// server misconfiguration, whose details go to the log only (`Internal server error`).
    pub fn public_message(&self) -> &str {
        match self {
            JwtError::Misconfigured(_) => "Internal server error",
            _ => self.message(),
        }
    }

    pub(crate) fn invalid(msg: impl Into<Cow<'static, str>>) -> Self {
        JwtError::InvalidToken(msg.into())
    }

    /// The default response under the default message key `msg`; a manager's own
    /// ([`JwtManager::error_response`](crate::JwtManager::error_response)) uses its
    /// `JWT_ERROR_MESSAGE_KEY` and status overrides.
    ///
    /// ```
    /// use jwt_runtime::JwtError;
    /// let resp = JwtError::Expired.to_response("msg");
    /// assert_eq!(resp.status().as_u16(), 401);
    /// ```
    pub fn to_response(&self, message_key: &str) -> poem::Response {
        message_response(self.status(), message_key, self.public_message())
    }
}

/// `{"<key>":"<message>"}` plus a newline (as Flask's `jsonify` writes it), as JSON.
pub(crate) fn message_response(status: StatusCode, key: &str, message: &str) -> poem::Response {
    let mut body = serde_json::Map::new();
    body.insert(key.to_string(), message.into());
    let mut text = serde_json::Value::Object(body).to_string();
    text.push('\n');
    poem::Response::builder()
        .status(status)
        .content_type("application/json")
        .body(text)
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for JwtError {}

/// Lets handlers use `?` on token creation; the body uses the default message key `msg`.
impl poem::error::ResponseError for JwtError {
    fn status(&self) -> StatusCode {
        JwtError::status(self)
    }

    fn as_response(&self) -> poem::Response {
        self.to_response("msg")
    }
}

/// How a [`ConfigError`] reads: `OPTION: reason` or `OPTION reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phrasing {
    Colon,
    Sentence,
    /// The reason alone (it names what it is about itself).
    Plain,
}

/// A configuration value that cannot work, found when the [`JwtManager`](crate::JwtManager) is
/// built: the option (its `JWT_*` name) and the reason.
///
/// ```
/// use jwt_runtime::{JwtConfig, JwtManager};
/// let err = JwtManager::new(JwtConfig::default()).unwrap_err();
/// assert_eq!(err.option(), "JWT_SECRET_KEY");
/// assert_eq!(
///     err.to_string(),
///     "JWT_SECRET_KEY must be set when using symmetric algorithm \"HS256\""
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    option: Cow<'static, str>,
    reason: String,
    phrasing: Phrasing,
}

impl ConfigError {
    /// `OPTION: reason`.
    pub(crate) fn new(option: impl Into<Cow<'static, str>>, reason: impl Into<String>) -> Self {
        ConfigError {
            option: option.into(),
            reason: reason.into(),
            phrasing: Phrasing::Colon,
        }
    }

    /// `OPTION predicate` (e.g. `JWT_MAX_TOKEN_LENGTH must be greater than 0`).
    pub(crate) fn sentence(
        option: impl Into<Cow<'static, str>>,
        predicate: impl Into<String>,
    ) -> Self {
        ConfigError {
            option: option.into(),
            reason: predicate.into(),
            phrasing: Phrasing::Sentence,
        }
    }

    /// `reason`, about `option` (for reasons that name their subject themselves).
    pub(crate) fn about(option: impl Into<Cow<'static, str>>, reason: impl Into<String>) -> Self {
        ConfigError {
            option: option.into(),
            reason: reason.into(),
            phrasing: Phrasing::Plain,
        }
    }

    /// The option at fault, by its `JWT_*` name (with the key's name for list entries, e.g.
    /// `JWT_DECODE_KEYS[2026-01]`).
    pub fn option(&self) -> &str {
        &self.option
    }

    /// What is wrong with it.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.phrasing {
            Phrasing::Colon => write!(f, "{}: {}", self.option, self.reason),
            Phrasing::Sentence => write!(f, "{} {}", self.option, self.reason),
            Phrasing::Plain => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A revocation store could not answer (unreachable, timed out, ...). The request is refused
/// with 503 (fail closed) unless the store was configured to fail open.
///
/// ```
/// use jwt_runtime::stores::BlocklistError;
/// let io = std::io::Error::other("connection reset");
/// let e = BlocklistError::with_source("redis blocklist", io);
/// assert_eq!(e.to_string(), "redis blocklist: connection reset");
/// assert!(std::error::Error::source(&e).is_some());
/// ```
#[derive(Debug)]
pub struct BlocklistError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl BlocklistError {
    /// An error without an underlying cause.
    pub fn new(message: impl Into<String>) -> Self {
        BlocklistError {
            message: message.into(),
            source: None,
        }
    }

    /// An error caused by `source` (a driver error); its text follows the context.
    pub fn with_source(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        BlocklistError {
            message: format!("{}: {source}", context.into()),
            source: Some(Box::new(source)),
        }
    }
}

/// Two errors are equal when they say the same (the source is not compared).
impl PartialEq for BlocklistError {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message
    }
}

impl fmt::Display for BlocklistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BlocklistError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
