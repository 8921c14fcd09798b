//! [`JwtConfig`]: every `JWT_*` option of flask-jwt-extended, with the reference's defaults.
//!
//! Options are plain fields. Build the config in code, deserialize it with serde (field names are
//! the option names in snake case without the `JWT_` prefix), or read it from the environment with
//! [`JwtConfig::from_env`] (the reference's `JWT_*` names). Nothing is validated here: the checks run
//! once, when the [`JwtManager`](crate::JwtManager) is built, so a bad value is a startup error and
//! never a per-request 500.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

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

/// Every option of flask-jwt-extended (its 43 `JWT_*` settings) plus this port's own limits.
///
/// The defaults are the reference's; the options marked "(this port)" are additions.
///
/// ```
/// use jwt_runtime::{JwtConfig, Expiry};
/// let config = JwtConfig {
///     secret_key: Some("a-long-random-secret-of-at-least-32-bytes!".into()),
///     access_token_expires: Expiry::minutes(5),
///     ..JwtConfig::default()
/// };
/// assert_eq!(config.header_type, "Bearer");
/// ```
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct JwtConfig {
    /// `JWT_ACCESS_TOKEN_EXPIRES`: lifetime of access tokens: seconds, a duration like `15m`, or `false` (never expire).
    pub access_token_expires: Expiry,
    /// `JWT_REFRESH_TOKEN_EXPIRES`: lifetime of refresh tokens, same forms.
    pub refresh_token_expires: Expiry,
    /// `JWT_ALGORITHM`: the signing algorithm (HS256/384/512, RS*, PS*, ES256/384, EdDSA).
    pub algorithm: String,
    /// `JWT_DECODE_ALGORITHMS`: algorithms accepted when verifying; `JWT_ALGORITHM` is always added.
    pub decode_algorithms: Option<Vec<String>>,
    /// `JWT_SECRET_KEY`: the HMAC secret for HS* algorithms; never logged; empty refuses startup.
    #[serde(skip_serializing)]
    pub secret_key: Option<String>,
    /// `JWT_PRIVATE_KEY`: PEM private key for signing with RS*/PS*/ES*/EdDSA; never logged.
    #[serde(skip_serializing)]
    pub private_key: Option<String>,
    /// `JWT_PUBLIC_KEY`: PEM public key for verifying RS*/PS*/ES*/EdDSA tokens.
    pub public_key: Option<String>,
    /// `JWT_TOKEN_LOCATION`: where tokens are looked for, in order: `headers`, `cookies`, `query_string`, `json`.
    pub token_location: Vec<String>,
    /// `JWT_HEADER_NAME`: the request header carrying the token.
    pub header_name: String,
    /// `JWT_HEADER_TYPE`: the scheme word before the token; empty means the header holds the bare token.
    pub header_type: String,
    /// `JWT_QUERY_STRING_NAME`: the query parameter carrying the token.
    pub query_string_name: String,
    /// `JWT_QUERY_STRING_VALUE_PREFIX`: a prefix the query value must start with (e.g. `Bearer `).
    pub query_string_value_prefix: String,
    /// `JWT_JSON_KEY`: the JSON body key of access tokens.
    pub json_key: String,
    /// `JWT_REFRESH_JSON_KEY`: the JSON body key of refresh tokens.
    pub refresh_json_key: String,
    /// `JWT_IDENTITY_CLAIM`: the claim holding the identity; required in every token.
    pub identity_claim: String,
    /// `JWT_ERROR_MESSAGE_KEY`: the key of every default error body (`{"msg": ...}`).
    pub error_message_key: String,
    /// `JWT_ENCODE_AUDIENCE`: written as `aud` into new tokens when set (a string, or a list).
    #[serde(deserialize_with = "one_or_many")]
    pub encode_audience: Option<Vec<String>>,
    /// `JWT_DECODE_AUDIENCE`: when set (a string or a list), tokens must carry an `aud` that intersects it.
    #[serde(deserialize_with = "one_or_many")]
    pub decode_audience: Option<Vec<String>>,
    /// `JWT_ENCODE_ISSUER`: written as `iss` into new tokens when set.
    pub encode_issuer: Option<String>,
    /// `JWT_DECODE_ISSUER`: when set (a string or a list), tokens must carry one of these `iss`, compared exactly.
    #[serde(deserialize_with = "one_or_many")]
    pub decode_issuer: Option<Vec<String>>,
    /// `JWT_DECODE_LEEWAY`: seconds of clock skew allowed on `exp`, `nbf` and `iat`.
    pub decode_leeway: u64,
    /// `JWT_VERIFY_SUB`: `sub` must be a string.
    pub verify_sub: bool,
    /// `JWT_ENCODE_NBF`: new tokens carry `nbf = iat`.
    pub encode_nbf: bool,
    /// `JWT_ACCESS_COOKIE_NAME`: the cookie holding access tokens.
    pub access_cookie_name: String,
    /// `JWT_REFRESH_COOKIE_NAME`: the cookie holding refresh tokens.
    pub refresh_cookie_name: String,
    /// `JWT_ACCESS_COOKIE_PATH`: `Path` of the access cookie.
    pub access_cookie_path: String,
    /// `JWT_REFRESH_COOKIE_PATH`: `Path` of the refresh cookie.
    pub refresh_cookie_path: String,
    /// `JWT_COOKIE_SECURE`: adds `Secure` to every cookie (set it in production).
    pub cookie_secure: bool,
    /// `JWT_COOKIE_DOMAIN`: the cookies' `Domain` (a per-call `CookieOptions::domain` overrides it).
    pub cookie_domain: Option<String>,
    /// `JWT_COOKIE_SAMESITE`: `None`, `Lax` or `Strict`; unset omits the attribute; `None` requires `Secure`.
    pub cookie_samesite: Option<String>,
    /// `JWT_SESSION_COOKIE`: `true`: session cookies; `false`: `Max-Age=31540000` and `Expires`.
    pub session_cookie: bool,
    /// `JWT_COOKIE_CSRF_PROTECT`: CSRF double submit for cookie tokens; also whether tokens carry a `csrf` claim.
    pub cookie_csrf_protect: bool,
    /// `JWT_CSRF_METHODS`: request methods that need the CSRF value with a cookie token.
    pub csrf_methods: Vec<String>,
    /// `JWT_CSRF_IN_COOKIES`: `set_*_cookies` also sets the readable CSRF cookie.
    pub csrf_in_cookies: bool,
    /// `JWT_CSRF_CHECK_FORM`: also accept the CSRF value from an urlencoded form field.
    pub csrf_check_form: bool,
    /// `JWT_ACCESS_CSRF_COOKIE_NAME`: the readable CSRF cookie of access tokens.
    pub access_csrf_cookie_name: String,
    /// `JWT_REFRESH_CSRF_COOKIE_NAME`: the readable CSRF cookie of refresh tokens.
    pub refresh_csrf_cookie_name: String,
    /// `JWT_ACCESS_CSRF_COOKIE_PATH`: `Path` of the access CSRF cookie.
    pub access_csrf_cookie_path: String,
    /// `JWT_REFRESH_CSRF_COOKIE_PATH`: `Path` of the refresh CSRF cookie.
    pub refresh_csrf_cookie_path: String,
    /// `JWT_ACCESS_CSRF_HEADER_NAME`: the header carrying the CSRF value for access tokens.
    pub access_csrf_header_name: String,
    /// `JWT_REFRESH_CSRF_HEADER_NAME`: the header carrying the CSRF value for refresh tokens.
    pub refresh_csrf_header_name: String,
    /// `JWT_ACCESS_CSRF_FIELD_NAME`: the form field carrying the CSRF value for access tokens.
    pub access_csrf_field_name: String,
    /// `JWT_REFRESH_CSRF_FIELD_NAME`: the form field carrying the CSRF value for refresh tokens.
    pub refresh_csrf_field_name: String,
    /// `JWT_MAX_TOKEN_LENGTH` (this port): longer tokens are refused (422) before any decoding work.
    pub max_token_length: usize,
    /// `JWT_JSON_BODY_LIMIT` (this port): the most of a body read to find a JSON token or CSRF field; larger bodies get 413.
    pub json_body_limit: usize,
    /// `JWT_IMPLICIT_REFRESH_WINDOW` (this port): replace a cookie access token expiring within this many seconds (`30m` works) on the same response.
    pub implicit_refresh_window: Option<u64>,
    /// `JWT_ENCODE_KID` (this port): the `kid` header written into new tokens.
    pub encode_kid: Option<String>,
    /// `JWT_DECODE_KEYS` (this port): extra verification keys selected by the token's `kid` (JSON list of `{kid, algorithm, public_key or secret}`).
    pub decode_keys: Vec<DecodeKeyConfig>,
    /// `JWT_DECODE_JWKS` (this port): a JWK set (JSON) of public verification keys, each with `kid` and `alg`.
    pub decode_jwks: Option<String>,
    /// `JWT_STATUS_CODES` (this port): per-kind status overrides, e.g. `invalid_token=401` (kinds in `ERROR_KINDS`).
    pub status_codes: std::collections::BTreeMap<String, u16>,
    /// `JWT_STRICT_KEY_LENGTH` (this port): refuse (instead of warn about) an HMAC secret shorter than the hash output.
    pub strict_key_length: bool,
    /// `JWT_ALLOW_TOKENS_WITHOUT_JTI` (this port): accept tokens without a `jti` (or with one over 128 characters) on routes that check revocation; such tokens can never be revoked one by one, so the default refuses them (422 `Missing claim: jti`). For verify-only services checking another issuer's tokens.
    pub allow_tokens_without_jti: bool,
}

impl Default for JwtConfig {
    fn default() -> Self {
        let s = |v: &str| v.to_string();
        JwtConfig {
            access_token_expires: Expiry::minutes(15),
            refresh_token_expires: Expiry::days(30),
            algorithm: s("HS256"),
            decode_algorithms: None,
            secret_key: None,
            private_key: None,
            public_key: None,
            token_location: vec![s("headers")],
            header_name: s("Authorization"),
            header_type: s("Bearer"),
            query_string_name: s("jwt"),
            query_string_value_prefix: String::new(),
            json_key: s("access_token"),
            refresh_json_key: s("refresh_token"),
            identity_claim: s("sub"),
            error_message_key: s("msg"),
            encode_audience: None,
            decode_audience: None,
            encode_issuer: None,
            decode_issuer: None,
            decode_leeway: 0,
            verify_sub: true,
            encode_nbf: true,
            access_cookie_name: s("access_token_cookie"),
            refresh_cookie_name: s("refresh_token_cookie"),
            access_cookie_path: s("/"),
            refresh_cookie_path: s("/"),
            cookie_secure: false,
            cookie_domain: None,
            cookie_samesite: None,
            session_cookie: true,
            cookie_csrf_protect: true,
            csrf_methods: ["POST", "PUT", "PATCH", "DELETE"].map(s).to_vec(),
            csrf_in_cookies: true,
            csrf_check_form: false,
            access_csrf_cookie_name: s("csrf_access_token"),
            refresh_csrf_cookie_name: s("csrf_refresh_token"),
            access_csrf_cookie_path: s("/"),
            refresh_csrf_cookie_path: s("/"),
            access_csrf_header_name: s("X-CSRF-TOKEN"),
            refresh_csrf_header_name: s("X-CSRF-TOKEN"),
            access_csrf_field_name: s("csrf_token"),
            refresh_csrf_field_name: s("csrf_token"),
            max_token_length: 8192,
            json_body_limit: 65_536,
            encode_kid: None,
            decode_keys: Vec::new(),
            decode_jwks: None,
            status_codes: std::collections::BTreeMap::new(),
            implicit_refresh_window: None,
            strict_key_length: false,
            allow_tokens_without_jti: false,
        }
    }
}

/// Every key-bearing option is redacted (secrets, PEM keys, JWK sets, decoding keys): a config
/// can be logged safely.
impl fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = shown.as_object_mut() {
            let redacted =
                |set: bool| serde_json::Value::from(if set { "<redacted>" } else { "<unset>" });
            map.insert("secret_key".into(), redacted(self.secret_key.is_some()));
            map.insert("private_key".into(), redacted(self.private_key.is_some()));
            map.insert("public_key".into(), redacted(self.public_key.is_some()));
            map.insert("decode_jwks".into(), redacted(self.decode_jwks.is_some()));
            let keys: Vec<serde_json::Value> = self
                .decode_keys
                .iter()
                .map(|k| serde_json::json!({"kid": k.kid, "algorithm": k.algorithm, "key": "<redacted>"}))
                .collect();
            map.insert("decode_keys".into(), keys.into());
        }
        write!(f, "JwtConfig {shown}")
    }
}

/// An extra verification key for key rotation, selected by the token's `kid`.
///
/// ```
/// let key: jwt_runtime::DecodeKeyConfig = serde_json::from_str(
///     r#"{"kid": "2026-01", "algorithm": "HS256", "secret": "an-old-secret-of-at-least-32-bytes!!"}"#,
/// ).unwrap();
/// assert_eq!(key.kid, "2026-01");
/// ```
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DecodeKeyConfig {
    /// The `kid` that selects this key.
    pub kid: String,
    /// Its one algorithm.
    pub algorithm: String,
    /// PEM public key, for RS*/PS*/ES*/EdDSA.
    #[serde(default)]
    pub public_key: Option<String>,
    /// The secret, for HS*. Never logged.
    #[serde(default, skip_serializing)]
    pub secret: Option<String>,
}

impl fmt::Debug for DecodeKeyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeKeyConfig")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("public_key", &self.public_key.as_ref().map(|_| "<pem>"))
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Parses one environment value into a field; `Err` carries the reason.
type EnvSetter = fn(&mut JwtConfig, &str) -> Result<(), String>;

macro_rules! env_table {
    ($( $name:literal => $field:ident : $parse:ident ),* $(,)?) => {
        /// Every `JWT_*` environment variable [`JwtConfig::from_env`] reads, with its setter.
        const ENV_OPTIONS: &[(&str, EnvSetter)] = &[
            $( ($name, |c: &mut JwtConfig, v: &str| { c.$field = $parse(v)?; Ok(()) }) ),*
        ];
    };
}

env_table! {
    "JWT_ACCESS_TOKEN_EXPIRES" => access_token_expires: parse_expiry,
    "JWT_REFRESH_TOKEN_EXPIRES" => refresh_token_expires: parse_expiry,
    "JWT_ALGORITHM" => algorithm: parse_string,
    "JWT_DECODE_ALGORITHMS" => decode_algorithms: parse_opt_list,
    "JWT_SECRET_KEY" => secret_key: parse_opt_string,
    "JWT_PRIVATE_KEY" => private_key: parse_opt_string,
    "JWT_PUBLIC_KEY" => public_key: parse_opt_string,
    "JWT_TOKEN_LOCATION" => token_location: parse_list,
    "JWT_HEADER_NAME" => header_name: parse_string,
    "JWT_HEADER_TYPE" => header_type: parse_string,
    "JWT_QUERY_STRING_NAME" => query_string_name: parse_string,
    "JWT_QUERY_STRING_VALUE_PREFIX" => query_string_value_prefix: parse_string,
    "JWT_JSON_KEY" => json_key: parse_string,
    "JWT_REFRESH_JSON_KEY" => refresh_json_key: parse_string,
    "JWT_IDENTITY_CLAIM" => identity_claim: parse_string,
    "JWT_ERROR_MESSAGE_KEY" => error_message_key: parse_string,
    "JWT_ENCODE_AUDIENCE" => encode_audience: parse_opt_list,
    "JWT_DECODE_AUDIENCE" => decode_audience: parse_opt_list,
    "JWT_ENCODE_ISSUER" => encode_issuer: parse_opt_string,
    "JWT_DECODE_ISSUER" => decode_issuer: parse_opt_list,
    "JWT_DECODE_LEEWAY" => decode_leeway: parse_number,
    "JWT_VERIFY_SUB" => verify_sub: parse_bool,
    "JWT_ENCODE_NBF" => encode_nbf: parse_bool,
    "JWT_ACCESS_COOKIE_NAME" => access_cookie_name: parse_string,
    "JWT_REFRESH_COOKIE_NAME" => refresh_cookie_name: parse_string,
    "JWT_ACCESS_COOKIE_PATH" => access_cookie_path: parse_string,
    "JWT_REFRESH_COOKIE_PATH" => refresh_cookie_path: parse_string,
    "JWT_COOKIE_SECURE" => cookie_secure: parse_bool,
    "JWT_COOKIE_DOMAIN" => cookie_domain: parse_opt_string,
    "JWT_COOKIE_SAMESITE" => cookie_samesite: parse_opt_string,
    "JWT_SESSION_COOKIE" => session_cookie: parse_bool,
    "JWT_COOKIE_CSRF_PROTECT" => cookie_csrf_protect: parse_bool,
    "JWT_CSRF_METHODS" => csrf_methods: parse_list,
    "JWT_CSRF_IN_COOKIES" => csrf_in_cookies: parse_bool,
    "JWT_CSRF_CHECK_FORM" => csrf_check_form: parse_bool,
    "JWT_ACCESS_CSRF_COOKIE_NAME" => access_csrf_cookie_name: parse_string,
    "JWT_REFRESH_CSRF_COOKIE_NAME" => refresh_csrf_cookie_name: parse_string,
    "JWT_ACCESS_CSRF_COOKIE_PATH" => access_csrf_cookie_path: parse_string,
    "JWT_REFRESH_CSRF_COOKIE_PATH" => refresh_csrf_cookie_path: parse_string,
    "JWT_ACCESS_CSRF_HEADER_NAME" => access_csrf_header_name: parse_string,
    "JWT_REFRESH_CSRF_HEADER_NAME" => refresh_csrf_header_name: parse_string,
    "JWT_ACCESS_CSRF_FIELD_NAME" => access_csrf_field_name: parse_string,
    "JWT_REFRESH_CSRF_FIELD_NAME" => refresh_csrf_field_name: parse_string,
    "JWT_MAX_TOKEN_LENGTH" => max_token_length: parse_number,
    "JWT_JSON_BODY_LIMIT" => json_body_limit: parse_number,
    "JWT_IMPLICIT_REFRESH_WINDOW" => implicit_refresh_window: parse_window,
    "JWT_ENCODE_KID" => encode_kid: parse_opt_string,
    "JWT_DECODE_KEYS" => decode_keys: parse_json,
    "JWT_DECODE_JWKS" => decode_jwks: parse_opt_string,
    "JWT_STATUS_CODES" => status_codes: parse_status_codes,
    "JWT_STRICT_KEY_LENGTH" => strict_key_length: parse_bool,
    "JWT_ALLOW_TOKENS_WITHOUT_JTI" => allow_tokens_without_jti: parse_bool,
}

fn parse_string(v: &str) -> Result<String, String> {
    Ok(v.to_string())
}

fn parse_opt_string(v: &str) -> Result<Option<String>, String> {
    Ok((!v.is_empty()).then(|| v.to_string()))
}

fn parse_list(v: &str) -> Result<Vec<String>, String> {
    Ok(v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect())
}

fn parse_opt_list(v: &str) -> Result<Option<Vec<String>>, String> {
    parse_list(v).map(|l| (!l.is_empty()).then_some(l))
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("'{v}' is not a boolean (use true or false)")),
    }
}

fn parse_number<N: std::str::FromStr>(v: &str) -> Result<N, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("'{v}' is not a non-negative integer"))
}

fn parse_expiry(v: &str) -> Result<Expiry, String> {
    v.parse()
}

fn parse_json<T: serde::de::DeserializeOwned>(v: &str) -> Result<T, String> {
    serde_json::from_str(v).map_err(|e| format!("not valid JSON for this option: {e}"))
}

fn parse_status_codes(v: &str) -> Result<std::collections::BTreeMap<String, u16>, String> {
    parse_list(v)?
        .into_iter()
        .map(|pair| {
            let (kind, status) = pair
                .split_once('=')
                .ok_or_else(|| format!("'{pair}' is not kind=status"))?;
            let status = status
                .trim()
                .parse()
                .map_err(|_| format!("'{status}' is not a status code"))?;
            Ok((kind.trim().to_string(), status))
        })
        .collect()
}

/// A string or a list of strings (audiences, issuers), as the reference accepts.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(s)) => Some(vec![s]),
        Some(OneOrMany::Many(v)) => Some(v),
    })
}

fn parse_window(v: &str) -> Result<Option<u64>, String> {
    Ok(v.parse::<Expiry>()?.as_seconds())
}

impl JwtConfig {
    /// Reads every `JWT_*` variable that is set from the process environment over the defaults.
    ///
    /// Lists (`JWT_TOKEN_LOCATION`, `JWT_DECODE_ALGORITHMS`, `JWT_CSRF_METHODS`, audiences) are
    /// comma-separated; expiries accept seconds, `15m`-style durations or `false`.
    ///
    /// # Errors
    /// A value that does not parse, naming the variable.
    ///
    /// ```
    /// let config = jwt_runtime::JwtConfig::from_env().unwrap();
    /// assert_eq!(config.identity_claim, "sub");
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup` (handy in tests).
    ///
    /// ```
    /// use jwt_runtime::{Expiry, JwtConfig};
    /// let config = JwtConfig::from_lookup(|name| match name {
    ///     "JWT_ACCESS_TOKEN_EXPIRES" => Some("false".into()),
    ///     _ => None,
    /// }).unwrap();
    /// assert_eq!(config.access_token_expires, Expiry::Never);
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = JwtConfig::default();
        for (name, set) in ENV_OPTIONS {
            if let Some(value) = lookup(name) {
                set(&mut config, &value)
                    .map_err(|why| ConfigError::new(format!("{name}: {why}")))?;
            }
        }
        Ok(config)
    }

    /// Sets the HMAC secret, for the common one-liner.
    ///
    /// ```
    /// let config = jwt_runtime::JwtConfig::default().with_secret("super-secret");
    /// assert!(config.secret_key.is_some());
    /// ```
    pub fn with_secret(mut self, secret: impl Into<String>) -> Self {
        self.secret_key = Some(secret.into());
        self
    }

    /// The `JWT_*` environment variables this config reads.
    pub fn env_names() -> impl Iterator<Item = &'static str> {
        ENV_OPTIONS.iter().map(|(name, _)| *name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_table_covers_all_reference_options() {
        // 43 options of the reference plus this port's nine.
        assert_eq!(JwtConfig::env_names().count(), 52);
    }

    #[test]
    fn env_values_parse_and_bad_ones_name_the_variable() {
        let c = JwtConfig::from_lookup(|n| match n {
            "JWT_TOKEN_LOCATION" => Some("headers, query_string".into()),
            "JWT_DECODE_LEEWAY" => Some("10".into()),
            "JWT_COOKIE_SECURE" => Some("TRUE".into()),
            "JWT_REFRESH_TOKEN_EXPIRES" => Some("2h".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.token_location, ["headers", "query_string"]);
        assert_eq!(c.decode_leeway, 10);
        assert!(c.cookie_secure);
        assert_eq!(c.refresh_token_expires, Expiry::Seconds(7200));

        let err = JwtConfig::from_lookup(|n| (n == "JWT_VERIFY_SUB").then(|| "maybe".into()));
        assert_eq!(
            err.unwrap_err().to_string(),
            "JWT_VERIFY_SUB: 'maybe' is not a boolean (use true or false)"
        );
        let err =
            JwtConfig::from_lookup(|n| (n == "JWT_ACCESS_TOKEN_EXPIRES").then(|| "true".into()));
        assert!(err
            .unwrap_err()
            .to_string()
            .starts_with("JWT_ACCESS_TOKEN_EXPIRES:"));
    }

    #[test]
    fn serde_reads_expiries_like_the_reference() {
        let c: JwtConfig =
            serde_json::from_str(r#"{"access_token_expires": false, "refresh_token_expires": 60}"#)
                .unwrap();
        assert_eq!(c.access_token_expires, Expiry::Never);
        assert_eq!(c.refresh_token_expires, Expiry::Seconds(60));
        assert!(serde_json::from_str::<JwtConfig>(r#"{"access_token_expires": true}"#).is_err());
        assert!(serde_json::from_str::<JwtConfig>(r#"{"acess_token_expires": 1}"#).is_err());
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = JwtConfig::default().with_secret("top-secret-value");
        let shown = format!("{c:?}");
        assert!(!shown.contains("top-secret-value"));
        assert!(shown.contains("<redacted>"));
    }
}
