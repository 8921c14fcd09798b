//! [`Roles`]: role and permission checks on a claim, without a hand-written policy.

use std::borrow::Cow;
use std::fmt;

use poem::Request;
use serde_json::Value;

use super::policy::JwtPolicy;
use crate::vocabulary::{JwtError, VerifiedJwt};

/// Whether one of the names or all of them are required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Any,
    All,
}

/// The required names: a `'static` list (what the macros write, `const`) or an owned one.
#[derive(Clone)]
enum Names {
    Static(&'static [&'static str]),
    Owned(Vec<String>),
}

/// A role (or permission) check on one claim of a verified token: the claim holds a string
/// (`"role": "admin"`) or a list of strings (`"roles": ["admin", "editor"]`); the token passes
/// when it holds [`any`](Self::any) or [`all`](Self::all) of the named values. Anything else in
/// the claim (a number, an object, `null`, a missing claim) holds no role; values compare
/// exactly (case-sensitive).
///
/// A refusal is [`JwtError::Forbidden`], 403 with the reference's body shape, reshaped by the
/// manager's `on_error` like every refusal:
///
/// | check | refusal message |
/// |---|---|
/// | `Roles::any(["admin"])` | `Missing role: admin` |
/// | `Roles::any(["admin", "editor"])` | `One of these roles is required: admin, editor` |
/// | `Roles::all(["admin", "editor"])`, `editor` absent | `Missing role: editor` |
/// | `Roles::all(["admin", "editor"])`, both absent | `Missing roles: admin, editor` |
///
/// The claim is `roles` unless set with [`claim`](Self::claim) (a `permissions` claim is the
/// same check under another name). Use it as `#[jwt_required(roles = "admin, editor")]`, as
/// `#[jwt_required(policy = Roles::any(...))]`, or on a route group with
/// [`JwtRequired::policy`](crate::JwtRequired::policy).
///
/// ```
/// use jwt_runtime::{jwt_required, Roles};
/// use poem::handler;
///
/// // Role names may be any `AsRef<str>`: a typed role enum keeps them checked by the compiler.
/// enum Role { Admin, Editor }
/// impl AsRef<str> for Role {
///     fn as_ref(&self) -> &str {
///         match self { Role::Admin => "admin", Role::Editor => "editor" }
///     }
/// }
///
/// #[jwt_required(policy = Roles::all([Role::Admin, Role::Editor]).claim("permissions"))]
/// #[handler]
/// async fn publish() -> &'static str { "published" }
///
/// const EDITORS: Roles = Roles::any_of(&["admin", "editor"]);
/// assert_eq!(EDITORS.claim_name(), "roles");
/// ```
#[derive(Clone)]
pub struct Roles {
    mode: Mode,
    names: Names,
    claim: Cow<'static, str>,
}

impl Roles {
    /// The claim read unless [`claim`](Self::claim) names another.
    pub const DEFAULT_CLAIM: &'static str = "roles";

    fn new<I, S>(mode: Mode, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut owned: Vec<String> = Vec::new();
        for name in names {
            let name = name.as_ref();
            if !owned.iter().any(|n| n == name) {
                owned.push(name.to_string());
            }
        }
        Roles {
            mode,
            names: Names::Owned(owned),
            claim: Cow::Borrowed(Self::DEFAULT_CLAIM),
        }
    }

    /// At least one of `names` is required. An empty list lets no token through.
    pub fn any<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::new(Mode::Any, names)
    }

    /// Every one of `names` is required. An empty list lets every verified token through.
    pub fn all<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::new(Mode::All, names)
    }

    /// [`any`](Self::any) as a `const`, on the default claim.
    pub const fn any_of(names: &'static [&'static str]) -> Self {
        Roles {
            mode: Mode::Any,
            names: Names::Static(names),
            claim: Cow::Borrowed(Self::DEFAULT_CLAIM),
        }
    }

    /// [`all`](Self::all) as a `const`, on the default claim.
    pub const fn all_of(names: &'static [&'static str]) -> Self {
        Roles {
            mode: Mode::All,
            names: Names::Static(names),
            claim: Cow::Borrowed(Self::DEFAULT_CLAIM),
        }
    }

    /// Reads the roles from `claim` instead of `roles`.
    pub fn claim(mut self, claim: impl Into<Cow<'static, str>>) -> Self {
        self.claim = claim.into();
        self
    }

    /// What `#[jwt_required(roles = "...", role_claim = "...")]` writes: a `const` policy on
    /// `claim`. Not public API.
    #[doc(hidden)]
    pub const fn __from_static(
        all: bool,
        names: &'static [&'static str],
        claim: &'static str,
    ) -> Self {
        Roles {
            mode: if all { Mode::All } else { Mode::Any },
            names: Names::Static(names),
            claim: Cow::Borrowed(claim),
        }
    }

    /// The claim this policy reads.
    pub fn claim_name(&self) -> &str {
        &self.claim
    }

    /// The required names, in the order given (repeats removed at construction by
    /// [`any`](Self::any) and [`all`](Self::all)).
    pub fn names(&self) -> Vec<&str> {
        match &self.names {
            Names::Static(names) => names.to_vec(),
            Names::Owned(names) => names.iter().map(String::as_str).collect(),
        }
    }

    /// Whether the token's claims pass; `Err` carries the refusal message.
    fn decide(&self, claim: Option<&Value>) -> Result<(), String> {
        let held: Vec<&str> = match claim {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let names = self.names();
        match self.mode {
            Mode::Any => {
                if names.iter().any(|n| held.contains(n)) {
                    Ok(())
                } else if names.len() == 1 {
                    Err(format!("Missing role: {}", names[0]))
                } else {
                    Err(format!(
                        "One of these roles is required: {}",
                        names.join(", ")
                    ))
                }
            }
            Mode::All => {
                let missing: Vec<&str> = names
                    .iter()
                    .copied()
                    .filter(|n| !held.contains(n))
                    .collect();
                match missing.len() {
                    0 => Ok(()),
                    1 => Err(format!("Missing role: {}", missing[0])),
                    _ => Err(format!("Missing roles: {}", missing.join(", "))),
                }
            }
        }
    }
}

impl fmt::Debug for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            Mode::Any => "any",
            Mode::All => "all",
        };
        f.debug_struct("Roles")
            .field("mode", &mode)
            .field("names", &self.names())
            .field("claim", &self.claim)
            .finish()
    }
}

impl JwtPolicy for Roles {
    async fn check(&self, token: &VerifiedJwt, _: &Request) -> Result<(), JwtError> {
        self.decide(token.claims().get(self.claim.as_ref()))
            .map_err(|message| JwtError::Forbidden(message.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(roles: &Roles, claim: Value) -> Result<(), String> {
        roles.decide(Some(&claim))
    }

    #[test]
    fn any_and_all_over_strings_and_lists() {
        let any = Roles::any(["admin", "editor"]);
        assert_eq!(check(&any, json!("editor")), Ok(()));
        assert_eq!(check(&any, json!(["x", "admin"])), Ok(()));
        assert_eq!(
            check(&any, json!(["Admin"])),
            Err("One of these roles is required: admin, editor".into())
        );
        let all = Roles::all_of(&["admin", "editor"]);
        assert_eq!(check(&all, json!(["editor", "admin"])), Ok(()));
        assert_eq!(
            check(&all, json!("admin")),
            Err("Missing role: editor".into())
        );
        assert_eq!(
            check(&all, json!(42)),
            Err("Missing roles: admin, editor".into())
        );
        assert_eq!(
            Roles::any(["admin", "admin"]).decide(None),
            Err("Missing role: admin".into())
        );
        assert_eq!(
            check(&Roles::any(["1"]), json!([1, {"a": 1}, null])),
            Err("Missing role: 1".into())
        );
    }
}
