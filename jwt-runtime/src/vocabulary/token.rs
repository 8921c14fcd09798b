//! A verified token as plain data, the token types and the claims this library reserves.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use super::{JsonObject, Location, TokenInfo};

/// A NumericDate claim (`iat`, `nbf`, `exp`) as PyJWT reads it (`int(value)`), but only from a
/// finite JSON number: strings and booleans are `Invalid` (CVE-2026-25537 is the class of bug
/// this avoids).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum NumericDate {
    /// The claim is not there.
    Absent,
    /// Whole seconds.
    At(f64),
    /// Present, but not a finite number.
    Invalid,
}

impl NumericDate {
    fn of(value: &Value) -> Self {
        match value.as_f64() {
            Some(f) if f.is_finite() => NumericDate::At(f.trunc()),
            _ => NumericDate::Invalid,
        }
    }

    /// The seconds, when the claim is a valid date.
    pub(crate) fn seconds(self) -> Option<f64> {
        match self {
            NumericDate::At(seconds) => Some(seconds),
            _ => None,
        }
    }
}

/// The `type` claim: the library's two values without an allocation, or another one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TypeClaim {
    Access,
    Refresh,
    Other(Box<str>),
}

impl TypeClaim {
    /// The claim with this value.
    pub(crate) fn of(value: &str) -> Self {
        match value {
            "access" => TypeClaim::Access,
            "refresh" => TypeClaim::Refresh,
            other => TypeClaim::Other(other.into()),
        }
    }

    /// Its value.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            TypeClaim::Access => TokenType::Access.as_str(),
            TypeClaim::Refresh => TokenType::Refresh.as_str(),
            TypeClaim::Other(other) => other,
        }
    }
}

/// The `fresh` claim: `true`/`false`, or a time until which the token is fresh.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Freshness {
    /// A bool, or `false` for anything but a bool or a number (also when absent).
    Flag(bool),
    /// Fresh until this time (seconds).
    Until(f64),
}

impl Freshness {
    /// Whether the token is fresh at `now`.
    pub(crate) fn at(self, now: f64) -> bool {
        match self {
            Freshness::Flag(fresh) => fresh,
            Freshness::Until(until) => until >= now,
        }
    }
}

/// What every request asks of a token's claims, read once when the token is parsed (and shared
/// by every later request that carries it, see the verified-token cache): the registered dates,
/// the type, the identity, freshness and the shape checks that do not depend on the clock.
///
/// Built claim by claim ([`ClaimFacts::observe`]) while a payload is read, or from a parsed map;
/// either way the same function sees every claim.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClaimFacts {
    /// The claim the identity is read from (`JWT_IDENTITY_CLAIM`, or a trusted issuer's);
    /// the default, `sub`, is not copied for every token.
    pub(crate) identity_claim: Cow<'static, str>,
    pub(crate) iat: NumericDate,
    pub(crate) nbf: NumericDate,
    pub(crate) exp: NumericDate,
    /// `sub` is present and not a string.
    pub(crate) sub_not_string: bool,
    /// `jti`, when it is a string.
    pub(crate) jti: Option<Box<str>>,
    /// `jti` is present and not a string.
    pub(crate) jti_not_string: bool,
    /// The identity claim is present.
    pub(crate) has_identity: bool,
    /// The identity claim (`null` when absent).
    pub(crate) identity: Value,
    /// The `type` claim, `access` when absent or not a string (as in flask-jwt-extended).
    pub(crate) token_type: TypeClaim,
    pub(crate) fresh: Freshness,
    /// The `cnf` claim's DPoP binding (RFC 9449 section 6).
    pub(crate) binding: super::Binding,
}

impl ClaimFacts {
    /// Facts of a payload with no claims yet, whose identity is `identity_claim`.
    pub(crate) fn new(identity_claim: &str) -> Self {
        ClaimFacts {
            identity_claim: match identity_claim {
                "sub" => Cow::Borrowed("sub"),
                other => Cow::Owned(other.to_owned()),
            },
            iat: NumericDate::Absent,
            nbf: NumericDate::Absent,
            exp: NumericDate::Absent,
            sub_not_string: false,
            jti: None,
            jti_not_string: false,
            has_identity: false,
            identity: Value::Null,
            token_type: TypeClaim::Access,
            fresh: Freshness::Flag(false),
            binding: super::Binding::Unbound,
        }
    }

    /// Whether the claim `name` says anything these facts record (else its value need not be
    /// kept while reading).
    pub(crate) fn wants(&self, name: &str) -> bool {
        matches!(
            name,
            "iat" | "nbf" | "exp" | "sub" | "jti" | "type" | "fresh"
        ) || name == &*self.identity_claim
    }

    /// Records the claim `name` (each name is seen once: payloads with duplicate names are
    /// refused).
    pub(crate) fn observe(&mut self, name: &str, value: &Value) {
        match name {
            "iat" => self.iat = NumericDate::of(value),
            "nbf" => self.nbf = NumericDate::of(value),
            "exp" => self.exp = NumericDate::of(value),
            "sub" => self.sub_not_string = !value.is_string(),
            "jti" => {
                self.jti = value.as_str().map(Box::from);
                self.jti_not_string = !value.is_string();
            }
            "type" => {
                if let Some(kind) = value.as_str() {
                    self.token_type = TypeClaim::of(kind);
                }
            }
            "fresh" => {
                self.fresh = match value {
                    Value::Bool(fresh) => Freshness::Flag(*fresh),
                    Value::Number(n) => n.as_f64().map_or(Freshness::Flag(false), Freshness::Until),
                    _ => Freshness::Flag(false),
                }
            }
            "cnf" => self.binding = super::Binding::of(value),
            _ => {}
        }
        if name == &*self.identity_claim {
            self.has_identity = true;
            self.identity = value.clone();
        }
    }

    /// The facts of a parsed payload.
    pub(crate) fn read(claims: &JsonObject, identity_claim: &str) -> Self {
        let mut facts = ClaimFacts::new(identity_claim);
        for (name, value) in claims {
            facts.observe(name, value);
        }
        facts
    }
}

/// The claims of a token: parsed, or the payload's JSON text, already checked (a strict object
/// that parses), parsed on first use. The pipeline reads only [`ClaimFacts`], so a token whose
/// claims no handler asks for is never parsed into a map.
#[derive(Debug)]
enum Claims {
    Parsed(JsonObject),
    Unparsed {
        /// The payload as it came (a `String` as decoded, not shrunk to fit: that would copy it).
        json: String,
        parsed: OnceLock<JsonObject>,
    },
}

/// The verified JOSE header and claims of a token: what does not depend on the request, shared
/// (behind an `Arc`) by every request that carries the same token.
#[derive(Debug)]
pub(crate) struct TokenParts {
    header: Arc<JsonObject>,
    claims: Claims,
    facts: ClaimFacts,
    /// What the revocation store is told about the token: read from `facts` when the token is
    /// verified ([`TokenParts::verified_by`]), with the keys that verified it.
    store_info: TokenInfo,
    /// Which keys verified the token, recorded when its key was chosen.
    source: KeySource,
}

/// Which keys verified a token, recorded by the JWS layer from the key it chose (never guessed
/// afterwards from the header's `kid`). A token issued elsewhere (the remote set's, a trusted
/// issuer's) is never re-minted here, its claims mean nothing to this app's own policies unless
/// trusted for them, and its users are filed under the issuer it names
/// ([`KeySource::provider`]), apart from this app's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeySource {
    /// This app's own keys (`JWT_SECRET_KEY`, `JWT_PUBLIC_KEY`, `JWT_DECODE_KEYS`, ...).
    Own,
    /// The key a decode-key loader gave: this app's own tokens, as in the reference.
    Loader,
    /// A key of the remote set (`JWT_DECODE_JWKS_URL`, `JWT_DECODE_ISSUER_DISCOVERY`); its
    /// users are filed under this name: the token's verified `iss` when an issuer rule
    /// (`JWT_DECODE_ISSUER`, or the discovered issuer) applies, else the JWK set's URL.
    Remote(Box<str>),
    /// A trusted issuer's keys and rules; its `iss`.
    Issuer(Box<str>),
}

impl KeySource {
    /// The issuer a foreign token's users are filed under (a trusted issuer, or the remote set's
    /// name); `None` for this app's own tokens.
    pub(crate) fn provider(&self) -> Option<&str> {
        match self {
            KeySource::Own | KeySource::Loader => None,
            KeySource::Remote(name) | KeySource::Issuer(name) => Some(name),
        }
    }

    /// Whether the token was issued elsewhere.
    pub(crate) fn is_foreign(&self) -> bool {
        self.provider().is_some()
    }
}

impl TokenParts {
    /// The parts of a token whose signature verified; `identity_claim` names its identity.
    pub(crate) fn new(header: Arc<JsonObject>, claims: JsonObject, identity_claim: &str) -> Self {
        TokenParts {
            facts: ClaimFacts::read(&claims, identity_claim),
            header,
            claims: Claims::Parsed(claims),
            store_info: TokenInfo::default(),
            source: KeySource::Own,
        }
    }

    /// The parts of a token whose payload `json` was read into `facts` and checked to be a
    /// strict JSON object (unique names) that parses; the map is built when first asked for.
    pub(crate) fn unparsed(header: Arc<JsonObject>, json: String, facts: ClaimFacts) -> Self {
        TokenParts {
            header,
            claims: Claims::Unparsed {
                json,
                parsed: OnceLock::new(),
            },
            facts,
            store_info: TokenInfo::default(),
            source: KeySource::Own,
        }
    }

    /// Records which keys verified these parts, and what the revocation store is told of them
    /// (a provider's users filed under its name; kept until `exp + leeway`).
    pub(crate) fn verified_by(&mut self, source: KeySource, leeway: u64) {
        self.store_info = TokenInfo::from_facts(&self.facts, leeway, source.provider());
        self.source = source;
    }

    /// Which keys verified the token.
    pub(crate) fn source(&self) -> &KeySource {
        &self.source
    }

    /// The JOSE header.
    pub(crate) fn header(&self) -> &JsonObject {
        &self.header
    }

    /// The claims.
    pub(crate) fn claims(&self) -> &JsonObject {
        match &self.claims {
            Claims::Parsed(claims) => claims,
            Claims::Unparsed { json, parsed } => parsed.get_or_init(|| parse_checked(json)),
        }
    }

    /// The claims, owned.
    pub(crate) fn into_claims(self) -> JsonObject {
        match self.claims {
            Claims::Parsed(claims) => claims,
            Claims::Unparsed { json, parsed } => {
                parsed.into_inner().unwrap_or_else(|| parse_checked(&json))
            }
        }
    }

    /// What every request reads of the claims.
    pub(crate) fn facts(&self) -> &ClaimFacts {
        &self.facts
    }

    /// What the revocation store is told about this token.
    pub(crate) fn store_info(&self) -> &TokenInfo {
        &self.store_info
    }

    /// The `exp` claim, when it is a valid date.
    pub(crate) fn exp(&self) -> Option<f64> {
        self.facts.exp.seconds()
    }
}

/// A payload already checked when it was read: parsing cannot fail (an empty map if it ever
/// did, never a panic on request data).
fn parse_checked(json: &str) -> JsonObject {
    serde_json::from_str(json).unwrap_or_default()
}

/// A token that passed every check, with where it was found. Recorded in the request
/// for the handler's extractors; policies, user loaders, the token-verification loader and
/// [`verify_jwt_in_request`](crate::verify_jwt_in_request) receive it.
///
/// ```
/// use jwt_runtime::{jwt_required, JwtConfig, JwtError, JwtManager, JwtPolicy, Location, VerifiedJwt};
/// use poem::{get, handler, http::StatusCode, test::TestClient, EndpointExt, Request, Route};
/// use serde_json::json;
///
/// // A policy reads the verified token: its identity, claims, type and location.
/// struct OwnTenant;
/// impl JwtPolicy for OwnTenant {
///     async fn check(&self, token: &VerifiedJwt, req: &Request) -> Result<(), JwtError> {
///         let tenant = token.claims().get("tenant").and_then(|t| t.as_str());
///         let from_header = token.location() == Location::Headers;
///         if from_header && token.token_type() == "access" && tenant == req.header("x-tenant") {
///             return Ok(());
///         }
///         let who = token.identity().as_str().unwrap_or("this user");
///         Err(JwtError::Forbidden(format!("{who} may not act for this tenant").into()))
///     }
/// }
///
/// #[jwt_required(policy = OwnTenant)]
/// #[handler]
/// async fn orders() -> &'static str {
///     "orders"
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let jwt = JwtManager::new(JwtConfig::default().with_secret("k".repeat(32)))?;
/// let cli = TestClient::new(Route::new().at("/orders", get(orders)).with(jwt.clone()));
/// let token = jwt.create_access_token("alice").additional_claims(json!({"tenant": "acme"})).await?;
/// let bearer = format!("Bearer {token}");
///
/// let resp = cli.get("/orders").header("Authorization", bearer.as_str()).header("x-tenant", "acme");
/// resp.send().await.assert_text("orders").await;
/// let resp = cli.get("/orders").header("Authorization", bearer.as_str()).header("x-tenant", "globex");
/// let resp = resp.send().await;
/// resp.assert_status(StatusCode::FORBIDDEN);
/// resp.assert_json(json!({"msg": "alice may not act for this tenant"})).await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct VerifiedJwt {
    parts: Arc<TokenParts>,
    location: Location,
}

impl VerifiedJwt {
    /// A verified token of `parts`, found at `location`.
    pub(crate) fn new(parts: Arc<TokenParts>, location: Location) -> Self {
        VerifiedJwt { parts, location }
    }

    /// This token as found at `location`: itself when it was found there (a cached token is
    /// shared by the requests that carry it the same way, without an allocation), else a copy
    /// that shares its parts.
    pub(crate) fn found_at(self: &Arc<Self>, location: Location) -> Arc<Self> {
        if self.location == location {
            self.clone()
        } else {
            Arc::new(VerifiedJwt::new(self.parts.clone(), location))
        }
    }

    /// The shared parts.
    pub(crate) fn parts(&self) -> &TokenParts {
        &self.parts
    }

    /// The JOSE header (`alg`, `typ`, ...).
    pub fn header(&self) -> &JsonObject {
        self.parts.header()
    }

    /// Every claim of the payload, in the token's order.
    ///
    /// The pipeline itself reads only the claims it checks (in one pass over the payload, when
    /// the token is first seen), so the map is built on the first call, once per token: a
    /// handler that never asks for it never pays for it.
    pub fn claims(&self) -> &JsonObject {
        self.parts.claims()
    }

    /// Where the token was found.
    pub fn location(&self) -> Location {
        self.location
    }

    /// The identity claim (`JWT_IDENTITY_CLAIM`, `sub` by default).
    pub fn identity(&self) -> &Value {
        &self.parts.facts.identity
    }

    /// The `type` claim, `access` when absent (as in flask-jwt-extended).
    pub fn token_type(&self) -> &str {
        self.parts.facts.token_type.as_str()
    }

    /// The `jti` claim.
    pub fn jti(&self) -> Option<&str> {
        self.parts.facts.jti.as_deref()
    }

    /// The issuer this token's user belongs to when it was issued elsewhere; `None` for this
    /// app's own tokens (its own keys, or a decode-key loader's). A foreign token's identity
    /// names that issuer's user, not one of this app's: a user loader that serves both keys its
    /// lookup by the pair, so that `alice` at the provider never loads this app's `alice`
    /// ("log out everywhere" files them apart the same way).
    ///
    /// - A trusted issuer's token (`JwtManagerBuilder::trust_issuer`, `JWT_TRUSTED_ISSUERS`):
    ///   that issuer.
    /// - A token verified by a key of the remote set (`JWT_DECODE_ISSUER_DISCOVERY`,
    ///   `JWT_DECODE_JWKS_URL`): its verified `iss` when an issuer rule applies (the discovered
    ///   issuer, or `JWT_DECODE_ISSUER`), else the JWK set's URL (`JWT_DECODE_JWKS_URL` as
    ///   configured), the only name the set has then.
    ///
    /// Which keys verified the token is recorded when its key is chosen, not read from its
    /// `kid`.
    ///
    /// ```
    /// use jwt_runtime::{user_lookup_loader, VerifiedJwt};
    /// use poem::Request;
    ///
    /// struct User { id: String }
    ///
    /// #[user_lookup_loader]
    /// async fn load_user(token: &VerifiedJwt, _req: &Request) -> Option<User> {
    ///     let name = token.identity().as_str()?;
    ///     Some(User {
    ///         id: match token.trusted_issuer() {
    ///             None => name.to_string(),                        // one of this app's users
    ///             Some(issuer) => format!("{issuer}#{name}"),      // a provider's user
    ///         },
    ///     })
    /// }
    /// ```
    pub fn trusted_issuer(&self) -> Option<&str> {
        self.parts.source().provider()
    }
}

/// Which kind of token: the `type` claim the library writes, and what selects the refresh names
/// (cookie, CSRF header and field, JSON key) on `refresh` routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// `type: "access"`.
    Access,
    /// `type: "refresh"`.
    Refresh,
}

impl TokenType {
    /// The value of the `type` claim.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Access => "access",
            TokenType::Refresh => "refresh",
        }
    }
}

impl TokenType {
    /// The type whose names a route reads: refresh on `refresh` routes.
    pub(crate) fn of_route(refresh: bool) -> Self {
        if refresh {
            TokenType::Refresh
        } else {
            TokenType::Access
        }
    }
}

/// Claim names the library writes itself. A typed claims struct cannot declare a field with one
/// of these names (the derive refuses it at compile time): read them from [`ReservedClaims`].
pub const RESERVED_CLAIMS: &[&str] = &[
    "fresh", "iat", "jti", "type", "sub", "nbf", "csrf", "aud", "iss", "exp", "cnf",
];

/// The claims this library reserves, read from a verified token.
#[derive(Debug, Clone, PartialEq)]
pub struct ReservedClaims {
    /// The identity claim (`JWT_IDENTITY_CLAIM`).
    pub identity: Value,
    /// `type`: `access` (also when absent, as in flask-jwt-extended) or `refresh`, or a foreign value.
    pub token_type: String,
    /// `fresh`: a bool, or a timestamp until which the token is fresh. `false` when absent.
    pub fresh: Value,
    /// `jti`: the token's unique id.
    pub jti: Option<String>,
    /// `iat`, seconds.
    pub iat: Option<i64>,
    /// `nbf`, seconds.
    pub nbf: Option<i64>,
    /// `exp`, seconds; `None` for a token that never expires.
    pub exp: Option<i64>,
    /// `csrf`: the double-submit value.
    pub csrf: Option<String>,
    /// `aud`: a string or a list.
    pub aud: Option<Value>,
    /// `iss`.
    pub iss: Option<String>,
    /// `cnf`: the confirmation claim; `{"jkt": "<thumbprint>"}` on a DPoP-bound token
    /// ([`TokenBuilder::bind`](crate::TokenBuilder::bind)).
    pub cnf: Option<Value>,
}

impl ReservedClaims {
    /// Reads them from a verified token.
    pub fn from_token(token: &VerifiedJwt) -> Self {
        let c = token.claims();
        let string = |k: &str| c.get(k).and_then(Value::as_str).map(String::from);
        let seconds = |k: &str| c.get(k).and_then(Value::as_f64).map(|f| f as i64);
        ReservedClaims {
            identity: token.identity().clone(),
            token_type: token.token_type().to_string(),
            fresh: c.get("fresh").cloned().unwrap_or(Value::Bool(false)),
            jti: string("jti"),
            iat: seconds("iat"),
            nbf: seconds("nbf"),
            exp: seconds("exp"),
            csrf: string("csrf"),
            aud: c.get("aud").cloned(),
            iss: string("iss"),
            cnf: c.get("cnf").cloned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RESERVED_CLAIMS;
    use crate::vocabulary::Location;

    /// The macros check claims struct fields and `locations = "..."` at compile time against
    /// their own copies of these lists: they must be the runtime's.
    #[test]
    fn the_macros_vocabulary_is_the_runtimes() {
        let (reserved, locations) = jwt_macros::__vocabulary!();
        assert_eq!(reserved, RESERVED_CLAIMS);
        let names: Vec<&str> = Location::ALL.iter().map(|l| l.as_str()).collect();
        assert_eq!(locations, names.as_slice());
    }
}
