//! What a revocation store is told about a token: plain data read once from verified claims.

use serde_json::Value;

use super::token::ClaimFacts;
use super::JsonObject;

/// The longest `jti` a store accepts (a uuid4 is 36 characters); longer ids are never stored or
/// looked up.
pub const MAX_JTI_LENGTH: usize = 128;

/// What a revocation store needs to know about a token, read from its verified claims.
///
/// ```
/// use jwt_runtime::stores::TokenInfo;
/// let claims = serde_json::json!({"jti": "j1", "type": "refresh", "sub": "alice", "iat": 10, "exp": 20});
/// // Tokens are accepted until `exp + JWT_DECODE_LEEWAY`, so the revocation is kept until then.
/// let info = TokenInfo::from_claims(claims.as_object().unwrap(), "sub", 5);
/// assert_eq!(info.jti.as_deref(), Some("j1"));
/// assert_eq!((info.user.as_str(), info.token_type.as_str(), info.expires_at), ("alice", "refresh", Some(20)));
/// assert_eq!(info.retain_until, Some(25));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The token's unique id; `None` for foreign tokens without one.
    pub jti: Option<String>,
    /// `access` (also when absent) or `refresh`.
    pub token_type: String,
    /// The identity, as text (a string identity as is, anything else as JSON).
    pub user: String,
    /// `iat`, seconds (0 when absent).
    pub issued_at: i64,
    /// `exp`, seconds; `None` for a token that never expires.
    pub expires_at: Option<i64>,
    /// Until when a store must remember this token's revocation: `exp` plus the verifier's
    /// leeway (`JWT_DECODE_LEEWAY`), since the token is accepted until then. `None`: forever.
    pub retain_until: Option<i64>,
}

impl TokenInfo {
    /// Reads the fields from verified claims; `leeway` is the verifier's `JWT_DECODE_LEEWAY`.
    pub fn from_claims(claims: &JsonObject, identity_claim: &str, leeway: u64) -> Self {
        let seconds = |k: &str| claims.get(k).and_then(Value::as_f64).map(|f| f as i64);
        let expires_at = seconds("exp");
        TokenInfo {
            jti: claims
                .get("jti")
                .and_then(Value::as_str)
                .filter(|j| j.len() <= MAX_JTI_LENGTH)
                .map(String::from),
            token_type: claims
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("access")
                .to_string(),
            user: user_key(claims.get(identity_claim).unwrap_or(&Value::Null)),
            issued_at: seconds("iat").unwrap_or(0),
            expires_at,
            retain_until: expires_at
                .map(|exp| exp.saturating_add(i64::try_from(leeway).unwrap_or(i64::MAX))),
        }
    }
}

impl TokenInfo {
    /// What [`TokenInfo::from_claims`] reads, from the facts read with the token (whose
    /// identity claim is the store's).
    pub(crate) fn from_facts(facts: &ClaimFacts, leeway: u64) -> Self {
        let expires_at = facts.exp.seconds().map(|f| f as i64);
        TokenInfo {
            jti: facts
                .jti
                .as_deref()
                .filter(|j| j.len() <= MAX_JTI_LENGTH)
                .map(String::from),
            token_type: facts.token_type.as_str().to_string(),
            user: user_key(&facts.identity),
            issued_at: facts.iat.seconds().map_or(0, |f| f as i64),
            expires_at,
            retain_until: expires_at
                .map(|exp| exp.saturating_add(i64::try_from(leeway).unwrap_or(i64::MAX))),
        }
    }
}

/// The text stores key a user by.
pub(crate) fn user_key(identity: &Value) -> String {
    match identity {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
