//! A verified token as plain data, the token types and the claims this library reserves.

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
    fn read(claims: &JsonObject, name: &str) -> Self {
        match claims.get(name) {
            None => NumericDate::Absent,
            Some(value) => match value.as_f64() {
                Some(f) if f.is_finite() => NumericDate::At(f.trunc()),
                _ => NumericDate::Invalid,
            },
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

/// What every request asks of a token's claims, read once when the token is parsed (and shared
/// by every later request that carries it, see the verified-token cache): the registered dates,
/// the type, the identity and the shape checks that do not depend on the clock.
#[derive(Debug)]
pub(crate) struct ClaimFacts {
    pub(crate) iat: NumericDate,
    pub(crate) nbf: NumericDate,
    pub(crate) exp: NumericDate,
    /// `sub` is present and not a string.
    pub(crate) sub_not_string: bool,
    /// `jti` is present and not a string.
    pub(crate) jti_not_string: bool,
    /// The identity claim is present.
    pub(crate) has_identity: bool,
    /// The identity claim (`null` when absent).
    pub(crate) identity: Value,
    /// The `type` claim, `access` when absent or not a string (as the reference).
    pub(crate) token_type: Box<str>,
}

impl ClaimFacts {
    fn read(claims: &JsonObject, identity_claim: &str) -> Self {
        let identity = claims.get(identity_claim);
        ClaimFacts {
            iat: NumericDate::read(claims, "iat"),
            nbf: NumericDate::read(claims, "nbf"),
            exp: NumericDate::read(claims, "exp"),
            sub_not_string: claims.get("sub").is_some_and(|s| !s.is_string()),
            jti_not_string: claims.get("jti").is_some_and(|j| !j.is_string()),
            has_identity: identity.is_some(),
            identity: identity.cloned().unwrap_or_default(),
            token_type: claims
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or(TokenType::Access.as_str())
                .into(),
        }
    }
}

/// The verified JOSE header and claims of a token: what does not depend on the request, shared
/// (behind an `Arc`) by every request that carries the same token.
#[derive(Debug)]
pub(crate) struct TokenParts {
    header: JsonObject,
    claims: JsonObject,
    facts: ClaimFacts,
    /// What the revocation store is told, built on the first revocation check.
    store_info: OnceLock<TokenInfo>,
}

impl TokenParts {
    /// The parts of a token whose signature verified; `identity_claim` names its identity.
    pub(crate) fn new(header: JsonObject, claims: JsonObject, identity_claim: &str) -> Self {
        TokenParts {
            facts: ClaimFacts::read(&claims, identity_claim),
            header,
            claims,
            store_info: OnceLock::new(),
        }
    }

    /// The JOSE header.
    pub(crate) fn header(&self) -> &JsonObject {
        &self.header
    }

    /// The claims.
    pub(crate) fn claims(&self) -> &JsonObject {
        &self.claims
    }

    /// The claims, owned.
    pub(crate) fn into_claims(self) -> JsonObject {
        self.claims
    }

    /// What every request reads of the claims.
    pub(crate) fn facts(&self) -> &ClaimFacts {
        &self.facts
    }

    /// What the revocation store is told about this token, built by `make` the first time.
    /// The engine that owns these parts always builds it from the same settings.
    pub(crate) fn store_info(&self, make: impl FnOnce(&JsonObject) -> TokenInfo) -> &TokenInfo {
        self.store_info.get_or_init(|| make(&self.claims))
    }

    /// The `exp` claim, when it is a valid date.
    pub(crate) fn exp(&self) -> Option<f64> {
        self.facts.exp.seconds()
    }
}

/// A token that passed every check, with where it was found. Stored in the request extensions
/// for the handler's extractors; user loaders and policies receive it.
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

    /// The shared parts.
    pub(crate) fn parts(&self) -> &TokenParts {
        &self.parts
    }

    /// The JOSE header (`alg`, `typ`, ...).
    pub fn header(&self) -> &JsonObject {
        self.parts.header()
    }

    /// Every claim of the payload.
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

    /// The `type` claim, `access` when absent (as the reference).
    pub fn token_type(&self) -> &str {
        &self.parts.facts.token_type
    }

    /// The `jti` claim.
    pub fn jti(&self) -> Option<&str> {
        self.claims().get("jti").and_then(Value::as_str)
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
    "fresh", "iat", "jti", "type", "sub", "nbf", "csrf", "aud", "iss", "exp",
];

/// The claims this library reserves, read from a verified token.
#[derive(Debug, Clone, PartialEq)]
pub struct ReservedClaims {
    /// The identity claim (`JWT_IDENTITY_CLAIM`).
    pub identity: Value,
    /// `type`: `access` (also when absent, as the reference) or `refresh`, or a foreign value.
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
