//! `JwtConfig::from_env`: the reference's `JWT_*` environment variables, one table of setters.

use super::JwtConfig;
use crate::vocabulary::{ConfigError, Expiry};

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
    "JWT_REFRESH_ROTATION" => refresh_rotation: parse_bool,
    "JWT_REFRESH_ROTATION_GRACE" => refresh_rotation_grace: parse_seconds,
    "JWT_ENCODE_KID" => encode_kid: parse_opt_string,
    "JWT_DECODE_KEYS" => decode_keys: parse_json,
    "JWT_DECODE_JWKS" => decode_jwks: parse_opt_string,
    "JWT_DECODE_JWKS_URL" => decode_jwks_url: parse_opt_string,
    "JWT_DECODE_ISSUER_DISCOVERY" => decode_issuer_discovery: parse_opt_string,
    "JWT_DECODE_ANY_AUDIENCE" => decode_any_audience: parse_bool,
    "JWT_DECODE_TRUST_APP_CLAIMS" => decode_trust_app_claims: parse_bool,
    "JWT_DECODE_ACCESS_TOKEN_PROFILE" => decode_access_token_profile: parse_bool,
    "JWT_TRUSTED_ISSUERS" => trusted_issuers: parse_json,
    "JWT_JWKS_REFRESH_MIN" => jwks_refresh_min: parse_seconds,
    "JWT_JWKS_REFRESH_MAX" => jwks_refresh_max: parse_seconds,
    "JWT_JWKS_REFETCH_INTERVAL" => jwks_refetch_interval: parse_seconds,
    "JWT_JWKS_TIMEOUT" => jwks_timeout: parse_seconds,
    "JWT_JWKS_MAX_BYTES" => jwks_max_bytes: parse_number,
    "JWT_JWKS_ALLOW_HTTP" => jwks_allow_http: parse_bool,
    "JWT_STATUS_CODES" => status_codes: parse_status_codes,
    "JWT_STRICT_KEY_LENGTH" => strict_key_length: parse_bool,
    "JWT_ALLOW_TOKENS_WITHOUT_JTI" => allow_tokens_without_jti: parse_bool,
    "JWT_VERIFIED_TOKEN_CACHE_SIZE" => verified_token_cache_size: parse_number,
    "JWT_BEARER_CHALLENGE" => bearer_challenge: parse_bool,
    "JWT_BEARER_REALM" => bearer_realm: parse_opt_string,
    "JWT_RESOURCE" => resource: parse_opt_string,
    "JWT_AUTHORIZATION_SERVERS" => authorization_servers: parse_list,
    "JWT_SCOPES_SUPPORTED" => scopes_supported: parse_scope_list,
    "JWT_RESOURCE_DOCUMENTATION" => resource_documentation: parse_opt_string,
    "JWT_DPOP" => dpop: parse_dpop_mode,
    "JWT_DPOP_PUBLIC_URL" => dpop_public_url: parse_opt_string,
    "JWT_DPOP_ALGORITHMS" => dpop_algorithms: parse_list,
    "JWT_DPOP_PROOF_MAX_AGE" => dpop_proof_max_age: parse_seconds,
    "JWT_DPOP_NONCE" => dpop_nonce: parse_bool,
    "JWT_DPOP_NONCE_SECRET" => dpop_nonce_secret: parse_opt_string,
    "JWT_DPOP_NONCE_LIFETIME" => dpop_nonce_lifetime: parse_seconds,
}

fn parse_dpop_mode(v: &str) -> Result<crate::vocabulary::DpopMode, String> {
    v.parse()
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

/// Space-separated, as OAuth writes scopes.
fn parse_scope_list(v: &str) -> Result<Vec<String>, String> {
    Ok(v.split_whitespace().map(String::from).collect())
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

fn parse_seconds(v: &str) -> Result<u64, String> {
    match v.parse::<Expiry>()? {
        Expiry::Seconds(s) => Ok(s),
        Expiry::Never => Err(format!("'{v}' is not a duration (seconds, or like 5m)")),
    }
}

fn parse_window(v: &str) -> Result<Option<u64>, String> {
    Ok(v.parse::<Expiry>()?.as_seconds())
}

/// The `JWT_*` option closest to `name`, an unknown variable: a few edits away, or the
/// beginning (or an extension) of it; compared without case.
fn closest_option(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_uppercase();
    let min_prefix = "JWT_".len() + 4;
    JwtConfig::env_names()
        .filter_map(|option| {
            let (shorter, longer) = if option.len() < name.len() {
                (option, name.as_str())
            } else {
                (name.as_str(), option)
            };
            let extends = shorter.len() >= min_prefix && longer.starts_with(shorter);
            let d = distance(&name, option);
            (extends || d <= (name.len() / 5).max(2)).then_some((d, option))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, option)| option)
}

/// Levenshtein distance (bytes: option names are ASCII).
fn distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Whether `name` is one of the application's own variables: an entry of `own`, or a prefix
/// entry ending in `*`.
fn is_own(name: &str, own: &[&str]) -> bool {
    own.iter().any(|entry| match entry.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == *entry,
    })
}

/// The error for a `JWT_*` variable that is no option: a typo would leave the option it meant at
/// its default (a security feature off) without a word.
fn unknown_variable(name: &str) -> ConfigError {
    let hint = closest_option(name)
        .map(|option| format!("; did you mean {option}?"))
        .unwrap_or_default();
    ConfigError::sentence(
        name.to_string(),
        format!(
            "is not an option of this library{hint} (an application's own JWT_* variables are \
             allowed with JwtConfig::from_env_allowing)"
        ),
    )
}

impl JwtConfig {
    /// Reads every `JWT_*` variable that is set from the process environment over the defaults.
    ///
    /// Lists (`JWT_TOKEN_LOCATION`, `JWT_DECODE_ALGORITHMS`, `JWT_CSRF_METHODS`, audiences) are
    /// comma-separated; expiries accept seconds, `15m`-style durations or `false`.
    ///
    /// A variable whose name starts with `JWT_` (in any case) but is no option of this library is
    /// an error naming it and the closest option: a misspelled `JWT_REFRESH_ROTATON=true` would
    /// otherwise leave rotation off without a word. An application with `JWT_*` variables of its
    /// own names them with [`from_env_allowing`](Self::from_env_allowing).
    ///
    /// # Errors
    /// A value that does not parse (or is not UTF-8), or an unknown `JWT_*` variable, naming the
    /// variable.
    ///
    /// ```
    /// let config = jwt_runtime::JwtConfig::from_env().unwrap();
    /// assert_eq!(config.identity_claim, "sub");
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_allowing(&[])
    }

    /// [`from_env`](Self::from_env) for an application that reads `JWT_*` variables of its own:
    /// the names in `own` (an entry ending in `*` allows every name it begins) are left to it.
    ///
    /// ```
    /// // JWT_AUDIT_LOG and JWT_APP_* are the application's; a typo of an option is still refused.
    /// let config = jwt_runtime::JwtConfig::from_env_allowing(&["JWT_AUDIT_LOG", "JWT_APP_*"]).unwrap();
    /// assert_eq!(config.identity_claim, "sub");
    /// ```
    ///
    /// # Errors
    /// As [`from_env`](Self::from_env).
    pub fn from_env_allowing(own: &[&str]) -> Result<Self, ConfigError> {
        let mut vars = Vec::new();
        for (name, value) in std::env::vars_os() {
            // A name that is not UTF-8 is no option of ours.
            let Ok(name) = name.into_string() else {
                continue;
            };
            match value.into_string() {
                Ok(value) => vars.push((name, value)),
                Err(_) if is_jwt_name(&name) => {
                    return Err(ConfigError::new(name, "the value is not valid UTF-8"));
                }
                Err(_) => {}
            }
        }
        Self::from_vars(vars, own)
    }

    /// [`from_env_allowing`](Self::from_env_allowing) over the `(name, value)` pairs `vars`
    /// instead of the process environment (for tests, or variables read elsewhere).
    ///
    /// ```
    /// use jwt_runtime::JwtConfig;
    /// let config = JwtConfig::from_vars([("JWT_REFRESH_ROTATION", "true"), ("HOME", "/root")], &[]).unwrap();
    /// assert!(config.refresh_rotation);
    /// let err = JwtConfig::from_vars([("JWT_REFRESH_ROTATON", "true")], &[]).unwrap_err();
    /// assert_eq!(err.option(), "JWT_REFRESH_ROTATON");
    /// assert!(err.to_string().contains("did you mean JWT_REFRESH_ROTATION?"));
    /// ```
    ///
    /// # Errors
    /// As [`from_env`](Self::from_env).
    pub fn from_vars<K, V>(
        vars: impl IntoIterator<Item = (K, V)>,
        own: &[&str],
    ) -> Result<Self, ConfigError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let vars: std::collections::BTreeMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
            .collect();
        let unknown = vars.keys().find(|name| {
            is_jwt_name(name)
                && !ENV_OPTIONS.iter().any(|(option, _)| option == name)
                && !is_own(name, own)
        });
        if let Some(name) = unknown {
            return Err(unknown_variable(name));
        }
        Self::from_lookup(|name| vars.get(name).cloned())
    }

    /// Like [`from_env`](Self::from_env), reading the options through `lookup` (handy in tests).
    /// It asks for the options' names only, so it cannot see a misspelled one: prefer
    /// [`from_vars`](Self::from_vars) where the variables can be listed.
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
                set(&mut config, &value).map_err(|why| ConfigError::new(*name, why))?;
            }
        }
        Ok(config)
    }

    /// The `JWT_*` environment variables this config reads.
    pub fn env_names() -> impl Iterator<Item = &'static str> {
        ENV_OPTIONS.iter().map(|(name, _)| *name)
    }
}

/// Whether `name` is in this library's namespace: it starts with `JWT_`, in any case.
fn is_jwt_name(name: &str) -> bool {
    name.get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("JWT_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_table_covers_all_reference_options() {
        // 43 options of the reference plus this port's thirty-seven.
        assert_eq!(JwtConfig::env_names().count(), 80);
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
    fn unknown_variables_are_refused_with_the_closest_option() {
        let err = JwtConfig::from_vars([("JWT_COOKIE_SECUR", "true")], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "JWT_COOKIE_SECUR is not an option of this library; did you mean JWT_COOKIE_SECURE? \
             (an application's own JWT_* variables are allowed with JwtConfig::from_env_allowing)"
        );
        assert_eq!(
            closest_option("jwt_refresh_rotation"),
            Some("JWT_REFRESH_ROTATION")
        );
        assert_eq!(
            closest_option("JWT_REFRESH_ROTATION_GRACE_SECS"),
            Some("JWT_REFRESH_ROTATION_GRACE")
        );
        assert_eq!(closest_option("JWT_X"), None);
        // Not ours: other prefixes, and names that merely contain JWT.
        assert!(JwtConfig::from_vars([("MY_JWT_THING", "1"), ("JWTX", "1")], &[]).is_ok());
        assert!(is_own("JWT_APP_X", &["JWT_APP_*"]) && !is_own("JWT_APPX", &["JWT_APP_"]));
        assert_eq!(distance("kitten", "sitting"), 3);
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
    fn a_withdrawn_provider_key_is_honoured_ten_minutes_at_most_by_default() {
        // A provider's `Cache-Control: max-age` of a day is cut to this (common JWKS clients
        // cache a set 5 to 10 minutes).
        let from_env = JwtConfig::from_lookup(|_| None).unwrap();
        assert_eq!(from_env.jwks_refresh_max, 600);
        assert_eq!(JwtConfig::default().jwks_refresh_max, 600);
        assert!(JwtConfig::default().jwks_refresh_min <= 600);
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = JwtConfig::default().with_secret("top-secret-value");
        let shown = format!("{c:?}");
        assert!(!shown.contains("top-secret-value"));
        assert!(shown.contains("<redacted>"));
    }
}
