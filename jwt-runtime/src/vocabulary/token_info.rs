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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenInfo {
    /// The token's unique id; `None` for foreign tokens without one.
    pub jti: Option<String>,
    /// `access` (also when absent) or `refresh`.
    pub token_type: String,
    /// Whose token it is, as text: for this app's own tokens the identity (a string as is,
    /// anything else as JSON; one that starts with `iss:` gets a second `iss:` in front), for a
    /// provider's token (a trusted issuer's, or the remote key set's) `iss:` and the JSON array
    /// of the issuer and the identity in that issuer's identity claim (`iss:["https://idp.example","alice@example.com"]`). Own and
    /// foreign users never share a key, so never a "log out everywhere" cut-off.
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
    /// Reads the fields from verified claims of this app's own token (its user as one of this
    /// app's); `leeway` is the verifier's `JWT_DECODE_LEEWAY`.
    pub fn from_claims(claims: &JsonObject, identity_claim: &str, leeway: u64) -> Self {
        Self::from_facts(&ClaimFacts::read(claims, identity_claim), leeway, None)
    }

    /// What [`TokenInfo::from_claims`] reads, from the facts read with the token (whose
    /// identity claim is the store's); `issuer`: the provider whose user it is (a trusted issuer,
    /// the remote key set's name), whose users are filed apart from this app's ([`issuer_user_key`]).
    pub(crate) fn from_facts(facts: &ClaimFacts, leeway: u64, issuer: Option<&str>) -> Self {
        let expires_at = facts.exp.seconds().map(|f| f as i64);
        TokenInfo {
            jti: facts
                .jti
                .as_deref()
                .filter(|j| j.len() <= MAX_JTI_LENGTH)
                .map(String::from),
            token_type: facts.token_type.as_str().to_string(),
            user: match issuer {
                None => user_key(&facts.identity),
                Some(iss) => issuer_user_key(iss, &facts.identity),
            },
            issued_at: facts.iat.seconds().map_or(0, |f| f as i64),
            expires_at,
            retain_until: expires_at
                .map(|exp| exp.saturating_add(i64::try_from(leeway).unwrap_or(i64::MAX))),
        }
    }
}

/// How a trusted issuer's user keys start; an own identity that starts with it is escaped by
/// repeating it, so no own key is ever a foreign one.
const ISSUER_KEY_PREFIX: &str = "iss:";

/// The text stores key one of this app's own users by: a string identity as is, anything else
/// as JSON. An identity that starts with `iss:` (the start of a trusted issuer's user keys, see
/// [`issuer_user_key`]) gets a second `iss:` in front.
pub(crate) fn user_key(identity: &Value) -> String {
    let text = match identity {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.starts_with(ISSUER_KEY_PREFIX) {
        format!("{ISSUER_KEY_PREFIX}{text}")
    } else {
        text
    }
}

/// The text stores key a trusted issuer's user by: `iss:` and the JSON array of the issuer and
/// the identity in its identity claim, `iss:["https://idp.example","alice@example.com"]`. It
/// never equals an own user's key ([`user_key`]): those either do not start with `iss:` or
/// continue with a second `iss:`, never with `[`. Two issuers' users differ by the issuer.
pub(crate) fn issuer_user_key(issuer: &str, identity: &Value) -> String {
    let pair = Value::Array(vec![Value::String(issuer.to_owned()), identity.clone()]);
    format!("{ISSUER_KEY_PREFIX}{pair}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn own_and_foreign_user_keys_never_meet() {
        let own = |v: Value| user_key(&v);
        assert_eq!(own(json!("alice")), "alice");
        assert_eq!(own(json!(42)), "42");
        let foreign = issuer_user_key("https://idp.example", &json!("alice"));
        assert_eq!(foreign, r#"iss:["https://idp.example","alice"]"#);
        // An own identity spelling a foreign key is escaped, not mistaken for it.
        assert_eq!(own(json!(foreign.clone())), format!("iss:{foreign}"));
        assert_ne!(own(json!(foreign.clone())), foreign);
        assert_eq!(own(json!("iss:")), "iss:iss:");
        // The issuer and the identity cannot trade characters.
        assert_ne!(
            issuer_user_key("a\",\"b", &json!("c")),
            issuer_user_key("a", &json!("b\",\"c"))
        );
        assert_ne!(
            issuer_user_key("a", &json!("b")),
            issuer_user_key("a", &json!(["b"]))
        );
    }
}
