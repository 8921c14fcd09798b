//! The config resolved once into typed values, with every option check of startup: locations,
//! CSRF methods, SameSite, the names each token type uses (cookie, CSRF cookie/header/field, JSON
//! key), status overrides. The request path reads these, never the option strings.

use std::collections::BTreeMap;

use poem::http::{HeaderName, Method, StatusCode};

use super::dpop::DpopSettings;
use super::resource::ResourceServer;
use crate::config::JwtConfig;
use crate::vocabulary::{ConfigError, ErrorKind, Location, TokenType};

/// `JWT_COOKIE_SAMESITE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SameSite {
    None,
    Lax,
    Strict,
}

impl SameSite {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SameSite::None => "None",
            SameSite::Lax => "Lax",
            SameSite::Strict => "Strict",
        }
    }
}

/// The names one token type uses.
#[derive(Debug, Clone)]
pub(crate) struct TokenNames {
    pub(crate) cookie: String,
    pub(crate) cookie_path: String,
    pub(crate) csrf_cookie: String,
    pub(crate) csrf_cookie_path: String,
    pub(crate) csrf_header: HeaderName,
    pub(crate) csrf_field: String,
    pub(crate) json_key: String,
}

/// The typed settings of a manager.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `JWT_TOKEN_LOCATION`, without repeats, in precedence order.
    pub(crate) locations: Vec<Location>,
    pub(crate) header_name: HeaderName,
    pub(crate) csrf_methods: Vec<Method>,
    pub(crate) same_site: Option<SameSite>,
    access: TokenNames,
    refresh: TokenNames,
    statuses: BTreeMap<ErrorKind, StatusCode>,
    /// RFC 6750 challenges and RFC 9728 metadata.
    pub(crate) resource: ResourceServer,
    /// DPoP (RFC 9449): the default policy, proof rules, public URL, nonces.
    pub(crate) dpop: DpopSettings,
}

impl Settings {
    /// Resolves and checks every option that is not a key (keys are checked by `KeySet`).
    pub(crate) fn resolve(config: &JwtConfig) -> Result<Self, ConfigError> {
        let non_empty = |value: &str, option: &'static str| {
            if value.trim().is_empty() {
                Err(ConfigError::sentence(option, "cannot be empty"))
            } else {
                Ok(())
            }
        };
        non_empty(&config.header_name, "JWT_HEADER_NAME")?;
        let header_name = header_name("JWT_HEADER_NAME", &config.header_name)?;
        non_empty(&config.error_message_key, "JWT_ERROR_MESSAGE_KEY")?;
        non_empty(&config.identity_claim, "JWT_IDENTITY_CLAIM")?;
        non_empty(&config.query_string_name, "JWT_QUERY_STRING_NAME")?;
        if config.max_token_length == 0 {
            return Err(ConfigError::sentence(
                "JWT_MAX_TOKEN_LENGTH",
                "must be greater than 0",
            ));
        }
        if config.json_body_limit == 0 {
            return Err(ConfigError::sentence(
                "JWT_JSON_BODY_LIMIT",
                "must be greater than 0",
            ));
        }
        Ok(Settings {
            locations: locations(config)?,
            header_name,
            csrf_methods: csrf_methods(config)?,
            same_site: same_site(config)?,
            access: token_names(config, TokenType::Access)?,
            refresh: token_names(config, TokenType::Refresh)?,
            statuses: statuses(config)?,
            resource: ResourceServer::resolve(config)?,
            dpop: DpopSettings::resolve(config)?,
        })
    }

    /// The names `token_type` uses.
    pub(crate) fn names(&self, token_type: TokenType) -> &TokenNames {
        match token_type {
            TokenType::Access => &self.access,
            TokenType::Refresh => &self.refresh,
        }
    }

    /// The status of `kind`: its `JWT_STATUS_CODES` override or its default.
    pub(crate) fn status(&self, kind: ErrorKind) -> StatusCode {
        self.statuses
            .get(&kind)
            .copied()
            .unwrap_or(kind.default_status())
    }

    /// Whether a cookie token on `method` needs the CSRF value (`JWT_CSRF_METHODS`).
    pub(crate) fn is_csrf_method(&self, method: &Method) -> bool {
        self.csrf_methods
            .iter()
            .any(|m| m.as_str().eq_ignore_ascii_case(method.as_str()))
    }
}

fn header_name(option: &'static str, name: &str) -> Result<HeaderName, ConfigError> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| ConfigError::new(option, format!("\"{name}\" is not a valid header name")))
}

fn locations(config: &JwtConfig) -> Result<Vec<Location>, ConfigError> {
    if config.token_location.is_empty() {
        return Err(ConfigError::sentence(
            "JWT_TOKEN_LOCATION",
            "must contain at least one location",
        ));
    }
    let mut locations: Vec<Location> = Vec::new();
    for name in &config.token_location {
        let location: Location = name.parse()?;
        if !locations.contains(&location) {
            locations.push(location);
        }
    }
    Ok(locations)
}

fn csrf_methods(config: &JwtConfig) -> Result<Vec<Method>, ConfigError> {
    config
        .csrf_methods
        .iter()
        .map(|method| {
            Method::from_bytes(method.as_bytes()).map_err(|_| {
                ConfigError::new(
                    "JWT_CSRF_METHODS",
                    format!("\"{method}\" is not an HTTP method"),
                )
            })
        })
        .collect()
}

fn same_site(config: &JwtConfig) -> Result<Option<SameSite>, ConfigError> {
    let Some(value) = &config.cookie_samesite else {
        return Ok(None);
    };
    let same_site = match value.as_str() {
        "None" => SameSite::None,
        "Lax" => SameSite::Lax,
        "Strict" => SameSite::Strict,
        other => {
            return Err(ConfigError::sentence(
                "JWT_COOKIE_SAMESITE",
                format!("must be \"None\", \"Lax\" or \"Strict\", got \"{other}\""),
            ))
        }
    };
    if same_site == SameSite::None && !config.cookie_secure {
        return Err(ConfigError::sentence(
            "JWT_COOKIE_SAMESITE",
            "= \"None\" requires JWT_COOKIE_SECURE = true (browsers drop such cookies otherwise)",
        ));
    }
    Ok(Some(same_site))
}

/// A `Domain` attribute value: a host name (letters, digits, `-`, `_`, `.`), optionally with a
/// leading dot. Anything else could add attributes to the `Set-Cookie` line.
pub(crate) fn is_cookie_domain(domain: &str) -> bool {
    let host = domain.strip_prefix('.').unwrap_or(domain);
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn token_names(config: &JwtConfig, token_type: TokenType) -> Result<TokenNames, ConfigError> {
    if let Some(domain) = &config.cookie_domain
        && !is_cookie_domain(domain)
    {
        return Err(ConfigError::new(
            "JWT_COOKIE_DOMAIN",
            format!("{domain:?} is not a valid cookie domain"),
        ));
    }
    let c = config;
    let (cookie, csrf_cookie, csrf_header, csrf_field, json_key) = match token_type {
        TokenType::Access => (
            [
                ("JWT_ACCESS_COOKIE_NAME", &c.access_cookie_name),
                ("JWT_ACCESS_COOKIE_PATH", &c.access_cookie_path),
            ],
            [
                ("JWT_ACCESS_CSRF_COOKIE_NAME", &c.access_csrf_cookie_name),
                ("JWT_ACCESS_CSRF_COOKIE_PATH", &c.access_csrf_cookie_path),
            ],
            ("JWT_ACCESS_CSRF_HEADER_NAME", &c.access_csrf_header_name),
            &c.access_csrf_field_name,
            &c.json_key,
        ),
        TokenType::Refresh => (
            [
                ("JWT_REFRESH_COOKIE_NAME", &c.refresh_cookie_name),
                ("JWT_REFRESH_COOKIE_PATH", &c.refresh_cookie_path),
            ],
            [
                ("JWT_REFRESH_CSRF_COOKIE_NAME", &c.refresh_csrf_cookie_name),
                ("JWT_REFRESH_CSRF_COOKIE_PATH", &c.refresh_csrf_cookie_path),
            ],
            ("JWT_REFRESH_CSRF_HEADER_NAME", &c.refresh_csrf_header_name),
            &c.refresh_csrf_field_name,
            &c.refresh_json_key,
        ),
    };
    for [(name_option, name), (path_option, path)] in [cookie, csrf_cookie] {
        check_cookie(config, name_option, name, path_option, path)?;
    }
    Ok(TokenNames {
        cookie: cookie[0].1.clone(),
        cookie_path: cookie[1].1.clone(),
        csrf_cookie: csrf_cookie[0].1.clone(),
        csrf_cookie_path: csrf_cookie[1].1.clone(),
        csrf_header: header_name(csrf_header.0, csrf_header.1)?,
        csrf_field: csrf_field.clone(),
        json_key: json_key.clone(),
    })
}

/// A cookie name is an RFC 6265 token; a path starts with `/` and holds no `;` or control
/// character; a `__Host-` name follows the prefix's rules.
fn check_cookie(
    config: &JwtConfig,
    option: &'static str,
    name: &str,
    path_option: &'static str,
    path: &str,
) -> Result<(), ConfigError> {
    let token_char = |c: char| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c);
    if name.is_empty() || !name.chars().all(token_char) {
        return Err(ConfigError::new(
            option,
            format!("\"{name}\" is not a valid cookie name"),
        ));
    }
    if !path.starts_with('/') || path.chars().any(|c| c == ';' || c.is_ascii_control()) {
        return Err(ConfigError::new(
            path_option,
            format!(
                "{path:?} is not a valid cookie path (it starts with '/' and holds no ';' or control characters)"
            ),
        ));
    }
    if name.starts_with("__Host-")
        && (!config.cookie_secure || path != "/" || config.cookie_domain.is_some())
    {
        return Err(ConfigError::new(
            option,
            "a \"__Host-\" cookie needs JWT_COOKIE_SECURE = true, path \"/\" and no JWT_COOKIE_DOMAIN",
        ));
    }
    Ok(())
}

fn statuses(config: &JwtConfig) -> Result<BTreeMap<ErrorKind, StatusCode>, ConfigError> {
    let mut statuses = BTreeMap::new();
    for (name, status) in &config.status_codes {
        let kind: ErrorKind = name.parse().map_err(|()| {
            let names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
            ConfigError::new(
                "JWT_STATUS_CODES",
                format!(
                    "unknown error kind \"{name}\" (expected one of {})",
                    names.join(", ")
                ),
            )
        })?;
        let status = StatusCode::from_u16(*status)
            .ok()
            .filter(|s| (100..=599).contains(&s.as_u16()))
            .ok_or_else(|| {
                ConfigError::new(
                    "JWT_STATUS_CODES",
                    format!("{status} is not an HTTP status"),
                )
            })?;
        statuses.insert(kind, status);
    }
    Ok(statuses)
}
