//! DPoP (RFC 9449) words every layer speaks: a route's [`DpopMode`], and what a token's `cnf`
//! claim says about its binding ([`Binding`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Whether a route takes DPoP-bound tokens (RFC 9449): the default of every protected route is
/// `JWT_DPOP`; a route sets its own with `#[jwt_required(dpop)]` / `dpop = "allowed"`,
/// [`VerifyOptions::dpop`](crate::VerifyOptions::dpop) or
/// [`JwtRequired::dpop`](crate::JwtRequired::dpop).
///
/// Whatever the mode, a DPoP-bound token (one with a `cnf.jkt` claim) sent as `Bearer` is refused
/// (RFC 9449 section 7.2).
///
/// ```
/// use jwt_runtime::DpopMode;
/// assert_eq!("required".parse::<DpopMode>(), Ok(DpopMode::Required));
/// assert_eq!(DpopMode::default(), DpopMode::Disabled);
/// assert_eq!(DpopMode::Allowed.as_str(), "allowed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DpopMode {
    /// `Authorization: DPoP` is not accepted (the header must carry the `JWT_HEADER_TYPE`
    /// scheme); bound tokens cannot be used here.
    #[default]
    Disabled,
    /// `Bearer` with an unbound token, or `DPoP` with a bound token and a valid proof.
    Allowed,
    /// Only `DPoP` with a bound token and a valid proof.
    Required,
}

impl DpopMode {
    /// The mode's name: `disabled`, `allowed` or `required`.
    ///
    /// ```
    /// assert_eq!(jwt_runtime::DpopMode::Required.as_str(), "required");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            DpopMode::Disabled => "disabled",
            DpopMode::Allowed => "allowed",
            DpopMode::Required => "required",
        }
    }

    /// Whether DPoP is accepted at all (`allowed` or `required`).
    ///
    /// ```
    /// assert!(jwt_runtime::DpopMode::Allowed.is_on());
    /// assert!(!jwt_runtime::DpopMode::Disabled.is_on());
    /// ```
    pub const fn is_on(self) -> bool {
        !matches!(self, DpopMode::Disabled)
    }
}

impl fmt::Display for DpopMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DpopMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "disabled" => Ok(DpopMode::Disabled),
            "allowed" => Ok(DpopMode::Allowed),
            "required" => Ok(DpopMode::Required),
            other => Err(format!(
                "\"{other}\" is not a DPoP mode: expected `disabled`, `allowed` or `required`"
            )),
        }
    }
}

/// What a token's `cnf` claim (RFC 7800, RFC 9449 section 6) says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Binding {
    /// No `cnf` claim: a bearer token.
    #[default]
    Unbound,
    /// `cnf.jkt`: bound to the key with this RFC 7638 thumbprint.
    Jkt(Box<str>),
    /// A `cnf` claim without a string `jkt` (another confirmation method, or garbage): this
    /// library cannot check it, so the token is refused wherever it is presented.
    Unknown,
}

impl Binding {
    /// The binding a `cnf` claim's value states.
    pub(crate) fn of(cnf: &serde_json::Value) -> Self {
        match cnf.get("jkt").and_then(serde_json::Value::as_str) {
            Some(jkt) if !jkt.is_empty() => Binding::Jkt(jkt.into()),
            _ => Binding::Unknown,
        }
    }
}
