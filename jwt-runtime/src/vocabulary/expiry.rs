//! [`Expiry`]: a token lifetime, as the reference's options and `expires_delta` take it.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// How long a token lives: a number of seconds, or never (no `exp` claim).
///
/// Deserializes from an integer of seconds, `false` (never, as in the reference), or a string:
/// `"never"`, `"false"`, `"900"`, `"15m"`, `"12h"`, `"30d"`.
///
/// ```
/// use jwt_runtime::Expiry;
/// assert_eq!("15m".parse::<Expiry>().unwrap(), Expiry::Seconds(900));
/// assert_eq!("false".parse::<Expiry>().unwrap(), Expiry::Never);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "serde_json::Value")]
pub enum Expiry {
    /// The token carries `exp = iat + seconds`. `Seconds(0)` means never, as `timedelta(0)` does.
    Seconds(u64),
    /// The token carries no `exp` claim and never expires.
    Never,
}

impl Expiry {
    /// A lifetime in minutes (saturating: a huge value means "practically never").
    pub const fn minutes(m: u64) -> Self {
        Expiry::Seconds(m.saturating_mul(60))
    }

    /// A lifetime in days (saturating).
    pub const fn days(d: u64) -> Self {
        Expiry::Seconds(d.saturating_mul(86_400))
    }

    /// The lifetime in seconds, `None` when the token never expires.
    pub fn as_seconds(self) -> Option<u64> {
        match self {
            Expiry::Seconds(0) | Expiry::Never => None,
            Expiry::Seconds(s) => Some(s),
        }
    }
}

impl From<std::time::Duration> for Expiry {
    fn from(d: std::time::Duration) -> Self {
        Expiry::Seconds(d.as_secs())
    }
}

impl From<Expiry> for serde_json::Value {
    fn from(e: Expiry) -> Self {
        match e {
            Expiry::Seconds(s) => s.into(),
            Expiry::Never => false.into(),
        }
    }
}

impl std::str::FromStr for Expiry {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        match t.to_ascii_lowercase().as_str() {
            "false" | "never" | "none" => return Ok(Expiry::Never),
            _ => {}
        }
        let (digits, unit) = match t.char_indices().last() {
            Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_lowercase()),
            _ => (t, 's'),
        };
        let factor = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return Err(format!("unknown unit in '{s}'")),
        };
        digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(factor))
            .map(Expiry::Seconds)
            .ok_or_else(|| {
                format!("'{s}' is not a number of seconds, a duration like 15m, or false")
            })
    }
}

impl<'de> Deserialize<'de> for Expiry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ExpiryVisitor;
        impl Visitor<'_> for ExpiryVisitor {
            type Value = Expiry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of seconds, false, or a duration string such as \"15m\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Expiry, E> {
                Ok(Expiry::Seconds(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Expiry, E> {
                u64::try_from(v)
                    .map(Expiry::Seconds)
                    .map_err(|_| E::custom("a token lifetime cannot be negative"))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Expiry, E> {
                if v {
                    Err(E::custom(
                        "a token lifetime of `true` means nothing; use seconds or false",
                    ))
                } else {
                    Ok(Expiry::Never)
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Expiry, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(ExpiryVisitor)
    }
}
