//! [`Scopes`]: the OAuth scopes a route requires, read from the `scope` and `scp` claims.

use std::fmt;

use serde_json::Value;

use super::errors::JwtError;
use super::JsonObject;

/// The OAuth scopes a route requires: [`all`](Self::all) of the names or [`any`](Self::any) of
/// them. A token's scopes are the space-separated string of its `scope` claim (RFC 8693 §4.2,
/// RFC 9068 §2.2.3) together with its `scp` claim (a list of strings, or a space-separated
/// string, as some identity providers write it). Names compare exactly (scope names are
/// case-sensitive); a comma is no separator.
///
/// The check runs in the pipeline after the token's type and freshness, before revocation. A
/// refusal is [`JwtError::InsufficientScope`]: 403 with the reference's body shape
/// (`{"msg": "..."}` under `JWT_ERROR_MESSAGE_KEY`), and, with `JWT_BEARER_CHALLENGE`, the RFC 6750
/// challenge `error="insufficient_scope", scope="..."`.
///
/// | requirement | the token holds | refusal message |
/// |---|---|---|
/// | `Scopes::all(&["a", "b"])` | `a` | `Missing scope: b` |
/// | `Scopes::all(&["a", "b"])` | neither | `Missing scopes: a, b` |
/// | `Scopes::any(&["a", "b"])` | neither | `One of these scopes is required: a, b` |
///
/// Write it as `#[jwt_required(scopes = "notes:read notes:write")]` (all) or
/// `#[jwt_required(any_scopes = "notes:read notes:admin")]` (any), on a route group with
/// [`JwtRequired::scopes`](crate::JwtRequired::scopes), or in options with
/// [`VerifyOptions::scopes`](crate::VerifyOptions::scopes). The names are `'static`, so a
/// requirement is a `const`:
///
/// ```
/// use jwt_runtime::{JwtRequired, Scopes};
/// use serde_json::json;
///
/// const EDITORS: Scopes = Scopes::all(&["notes:read", "notes:write"]);
/// let group = JwtRequired::new().scopes(EDITORS);
/// assert_eq!(group.options().required_scopes(), Some(&EDITORS));
///
/// let claims = json!({"scope": "notes:write profile", "scp": ["notes:read"]});
/// assert!(EDITORS.check(claims.as_object().unwrap()).is_ok());
/// let claims = json!({"scope": "notes:read"});
/// let refused = EDITORS.check(claims.as_object().unwrap()).unwrap_err();
/// assert_eq!(refused.message(), "Missing scope: notes:write");
/// assert_eq!(refused.status().as_u16(), 403);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scopes {
    any: bool,
    names: &'static [&'static str],
}

impl Scopes {
    /// The claim holding the space-separated scope string (RFC 8693, RFC 9068).
    pub const SCOPE_CLAIM: &'static str = "scope";
    /// The claim some providers use instead: a list of scopes, or a space-separated string.
    pub const SCP_CLAIM: &'static str = "scp";

    /// Every one of `names` is required. An empty list lets every verified token through.
    pub const fn all(names: &'static [&'static str]) -> Self {
        Scopes { any: false, names }
    }

    /// At least one of `names` is required. An empty list lets no token through.
    pub const fn any(names: &'static [&'static str]) -> Self {
        Scopes { any: true, names }
    }

    /// The required names, in the order given.
    pub const fn names(&self) -> &'static [&'static str] {
        self.names
    }

    /// Whether one of the names is enough ([`any`](Self::any)).
    pub const fn is_any(&self) -> bool {
        self.any
    }

    /// Whether `scope` is one of the scopes `claims` grant (`scope` and `scp`).
    fn granted(claims: &JsonObject, scope: &str) -> bool {
        let in_string = |s: &str| s.split(' ').any(|held| held == scope);
        let from_scope = match claims.get(Self::SCOPE_CLAIM) {
            Some(Value::String(s)) => in_string(s),
            _ => false,
        };
        from_scope
            || match claims.get(Self::SCP_CLAIM) {
                Some(Value::String(s)) => in_string(s),
                Some(Value::Array(items)) => items.iter().any(|v| v.as_str() == Some(scope)),
                _ => false,
            }
    }

    /// Checks the scopes `claims` grant: `Err` is [`JwtError::InsufficientScope`] naming what is
    /// missing.
    pub fn check(&self, claims: &JsonObject) -> Result<(), JwtError> {
        let message = if self.any {
            if self.names.iter().any(|n| Self::granted(claims, n)) {
                return Ok(());
            }
            match self.names {
                [one] => format!("Missing scope: {one}"),
                names => format!("One of these scopes is required: {}", names.join(", ")),
            }
        } else {
            let missing: Vec<&str> = self
                .names
                .iter()
                .copied()
                .filter(|n| !Self::granted(claims, n))
                .collect();
            match missing.as_slice() {
                [] => return Ok(()),
                [one] => format!("Missing scope: {one}"),
                many => format!("Missing scopes: {}", many.join(", ")),
            }
        };
        Err(JwtError::InsufficientScope {
            message: message.into(),
            scope: self.to_string().into(),
        })
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scopes")
            .field("mode", &if self.any { "any" } else { "all" })
            .field("names", &self.names)
            .finish()
    }
}

/// The names space-separated, as OAuth writes a scope (the `scope` of a challenge).
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(scopes: Scopes, claims: Value) -> Result<(), String> {
        scopes
            .check(claims.as_object().unwrap())
            .map_err(|e| e.message().to_string())
    }

    #[test]
    fn all_and_any_over_scope_and_scp() {
        let all = Scopes::all(&["a", "b:c"]);
        assert_eq!(check(all, json!({"scope": "b:c a"})), Ok(()));
        assert_eq!(check(all, json!({"scope": "a", "scp": ["b:c"]})), Ok(()));
        assert_eq!(check(all, json!({"scp": "a b:c"})), Ok(()));
        assert_eq!(
            check(all, json!({"scope": "A b:c"})),
            Err("Missing scope: a".into())
        );
        assert_eq!(
            check(all, json!({"scope": "a,b:c", "scp": {"a": true}})),
            Err("Missing scopes: a, b:c".into())
        );
        assert_eq!(
            check(all, json!({"scope": ["a", "b:c"]})),
            Err("Missing scopes: a, b:c".into())
        );
        let any = Scopes::any(&["a", "b"]);
        assert_eq!(check(any, json!({"scp": ["x", "b"]})), Ok(()));
        assert_eq!(
            check(any, json!({"scope": ""})),
            Err("One of these scopes is required: a, b".into())
        );
        assert_eq!(
            check(Scopes::any(&["a"]), json!({})),
            Err("Missing scope: a".into())
        );
        assert_eq!(check(Scopes::all(&[]), json!({})), Ok(()));
        assert!(check(Scopes::any(&[]), json!({"scope": "a"})).is_err());
    }

    #[test]
    fn the_refusal_carries_the_requirement() {
        let all = Scopes::all(&["a", "b"]);
        let err = all.check(&JsonObject::new()).unwrap_err();
        assert_eq!(
            err,
            JwtError::InsufficientScope {
                message: "Missing scopes: a, b".into(),
                scope: "a b".into()
            }
        );
        assert_eq!(all.to_string(), "a b");
        assert_eq!(
            format!("{all:?}"),
            "Scopes { mode: \"all\", names: [\"a\", \"b\"] }"
        );
    }
}
