//! Setting and clearing the JWT and CSRF cookies (the reference's `set_access_cookies`,
//! `set_refresh_cookies`, `unset_*_cookies`), with Werkzeug's `Set-Cookie` attribute order so the
//! headers match the reference byte for byte.

use std::time::{Duration, UNIX_EPOCH};

use poem::http::{header, HeaderValue};
use poem::Response;
use serde_json::Value;

use crate::config::JwtConfig;
use crate::error::{ConfigError, JwtError};
use crate::jose::JsonObject;
use crate::manager::JwtManager;

/// The reference's hard-coded lifetime of a persistent cookie (about 365 days).
const PERSISTENT_MAX_AGE: u64 = 31_540_000;

/// 9999-12-31 23:59:59 UTC, the last instant an HTTP date can name.
const LAST_HTTP_DATE: u64 = 253_402_300_799;

/// RFC 6265 `cookie-octet`: what a cookie value may hold unquoted. A JWT (base64url and dots)
/// always fits; anything with `;`, `,`, whitespace, quotes or control characters could add
/// attributes or cookies of its own.
fn is_cookie_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E))
}

/// A `Domain` attribute value: a host name (letters, digits, `-`, `_`, `.`), optionally with a
/// leading dot.
pub(crate) fn is_cookie_domain(domain: &str) -> bool {
    let host = domain.strip_prefix('.').unwrap_or(domain);
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn checked_domain(domain: Option<&str>) -> Result<Option<&str>, JwtError> {
    match domain {
        Some(d) if !is_cookie_domain(d) => Err(JwtError::Cookie(
            format!("CookieOptions::domain: {d:?} is not a valid cookie domain").into(),
        )),
        other => Ok(other),
    }
}

/// Per-call overrides of `set_*_cookies` / `unset_*_cookies` (the reference's `max_age` and
/// `domain` arguments).
///
/// ```
/// use jwt_runtime::CookieOptions;
/// let opts = CookieOptions::default().domain("example.com").max_age(std::time::Duration::from_secs(3600));
/// assert_eq!(opts.domain.as_deref(), Some("example.com"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CookieOptions {
    /// Makes the cookies persistent with this lifetime, even under `JWT_SESSION_COOKIE`.
    /// A zero duration counts as unset, as in the reference.
    pub max_age: Option<Duration>,
    /// Overrides `JWT_COOKIE_DOMAIN`.
    pub domain: Option<String>,
}

impl CookieOptions {
    /// Sets [`max_age`](Self::max_age).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Sets [`domain`](Self::domain).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }
}

/// Which pair of cookies.
#[derive(Clone, Copy)]
enum Kind {
    Access,
    Refresh,
}

struct CookieNames<'a> {
    jwt: &'a str,
    jwt_path: &'a str,
    csrf: &'a str,
    csrf_path: &'a str,
}

fn names(config: &JwtConfig, kind: Kind) -> CookieNames<'_> {
    match kind {
        Kind::Access => CookieNames {
            jwt: &config.access_cookie_name,
            jwt_path: &config.access_cookie_path,
            csrf: &config.access_csrf_cookie_name,
            csrf_path: &config.access_csrf_cookie_path,
        },
        Kind::Refresh => CookieNames {
            jwt: &config.refresh_cookie_name,
            jwt_path: &config.refresh_cookie_path,
            csrf: &config.refresh_csrf_cookie_name,
            csrf_path: &config.refresh_csrf_cookie_path,
        },
    }
}

/// What a `Set-Cookie` line says after `name=value`.
struct Attributes<'a> {
    domain: Option<&'a str>,
    /// `Some(seconds)`: `Expires` + `Max-Age`; `None`: a session cookie.
    max_age: Option<u64>,
    /// Unset: `Expires` in 1970 and no `Max-Age`.
    expired: bool,
    http_only: bool,
    path: &'a str,
}

/// Werkzeug's `dump_cookie` order: Domain, Expires, Max-Age, Secure, HttpOnly, Path, SameSite.
fn set_cookie_line(
    config: &JwtConfig,
    name: &str,
    value: &str,
    a: &Attributes<'_>,
    now: f64,
) -> String {
    let mut line = format!("{name}={value}");
    if let Some(domain) = a.domain {
        line.push_str("; Domain=");
        line.push_str(domain.trim_start_matches('.'));
    }
    if a.expired {
        line.push_str("; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
    } else if let Some(max_age) = a.max_age {
        // HTTP dates end at year 9999: a larger lifetime saturates there (never a panic).
        let expires = (now.max(0.0) as u64)
            .saturating_add(max_age)
            .min(LAST_HTTP_DATE);
        line.push_str(&format!(
            "; Expires={}; Max-Age={max_age}",
            httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(expires))
        ));
    }
    if config.cookie_secure {
        line.push_str("; Secure");
    }
    if a.http_only {
        line.push_str("; HttpOnly");
    }
    line.push_str("; Path=");
    line.push_str(a.path);
    if let Some(same_site) = &config.cookie_samesite {
        line.push_str("; SameSite=");
        line.push_str(same_site);
    }
    line
}

fn header_value(line: String) -> Result<HeaderValue, JwtError> {
    HeaderValue::from_str(&line)
        .map_err(|_| JwtError::Cookie("a cookie is not a valid header value".into()))
}

/// Appends the lines only once all of them could be made: a refused call writes nothing.
fn append_all(resp: &mut Response, lines: Vec<HeaderValue>) {
    for line in lines {
        resp.headers_mut().append(header::SET_COOKIE, line);
    }
}

impl JwtManager {
    /// The `csrf` claim of a valid token (the reference's `get_csrf_token`), for apps that hand
    /// the double-submit value out themselves (`JWT_CSRF_IN_COOKIES = false`).
    ///
    /// # Errors
    /// The token does not verify, or was minted without a `csrf` claim.
    pub fn get_csrf_token(&self, token: &str) -> Result<String, JwtError> {
        let claims = self.decode_token(token)?;
        match claims.get("csrf") {
            Some(Value::String(csrf)) => Ok(csrf.clone()),
            _ => Err(JwtError::invalid("Missing claim: csrf")),
        }
    }

    fn set_cookies(
        &self,
        resp: &mut Response,
        token: &str,
        opts: &CookieOptions,
        kind: Kind,
    ) -> Result<(), JwtError> {
        let config = self.config();
        let n = names(config, kind);
        let max_age = match opts.max_age.map(|d| d.as_secs()).filter(|s| *s > 0) {
            Some(secs) => Some(secs),
            None if config.session_cookie => None,
            None => Some(PERSISTENT_MAX_AGE),
        };
        let domain = checked_domain(opts.domain.as_deref())?.or(config.cookie_domain.as_deref());
        if !is_cookie_value(token) {
            return Err(JwtError::Cookie(
                "the token is not a valid cookie value (a JWT is base64url and dots)".into(),
            ));
        }
        let now = self.now();
        let jwt = Attributes {
            domain,
            max_age,
            expired: false,
            http_only: true,
            path: n.jwt_path,
        };
        let csrf = if config.cookie_csrf_protect && config.csrf_in_cookies {
            Some(self.get_csrf_token(token)?)
        } else {
            None
        };
        let mut lines = vec![header_value(set_cookie_line(
            config, n.jwt, token, &jwt, now,
        ))?];
        if let Some(csrf) = csrf {
            let attrs = Attributes {
                http_only: false,
                path: n.csrf_path,
                ..jwt
            };
            lines.push(header_value(set_cookie_line(
                config, n.csrf, &csrf, &attrs, now,
            ))?);
        }
        append_all(resp, lines);
        Ok(())
    }

    fn unset_cookies(
        &self,
        resp: &mut Response,
        opts: &CookieOptions,
        kind: Kind,
    ) -> Result<(), JwtError> {
        let config = self.config();
        let n = names(config, kind);
        let domain = checked_domain(opts.domain.as_deref())?.or(config.cookie_domain.as_deref());
        let jwt = Attributes {
            domain,
            max_age: None,
            expired: true,
            http_only: true,
            path: n.jwt_path,
        };
        let mut lines = vec![header_value(set_cookie_line(config, n.jwt, "", &jwt, 0.0))?];
        if config.cookie_csrf_protect && config.csrf_in_cookies {
            let attrs = Attributes {
                http_only: false,
                path: n.csrf_path,
                ..jwt
            };
            lines.push(header_value(set_cookie_line(
                config, n.csrf, "", &attrs, 0.0,
            ))?);
        }
        append_all(resp, lines);
        Ok(())
    }

    /// Sets the access cookie (HttpOnly) and, under CSRF protection with `JWT_CSRF_IN_COOKIES`,
    /// the readable `csrf_access_token` cookie (the reference's `set_access_cookies`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let jwt = jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("k".repeat(32))).unwrap();
    /// let token = jwt.create_access_token("example_user").await.unwrap();
    /// let mut resp = poem::Response::default();
    /// jwt.set_access_cookies(&mut resp, &token).unwrap();
    /// let cookies: Vec<_> = resp.headers().get_all("set-cookie").iter().collect();
    /// assert_eq!(cookies.len(), 2);
    /// assert!(cookies[0].to_str().unwrap().ends_with("; HttpOnly; Path=/"));
    /// # }
    /// ```
    ///
    /// # Errors
    /// The token does not verify or carries no `csrf` claim while one is needed.
    pub fn set_access_cookies(&self, resp: &mut Response, token: &str) -> Result<(), JwtError> {
        self.set_cookies(resp, token, &CookieOptions::default(), Kind::Access)
    }

    /// [`set_access_cookies`](Self::set_access_cookies) with a `max_age` or `domain` override.
    pub fn set_access_cookies_with(
        &self,
        resp: &mut Response,
        token: &str,
        opts: &CookieOptions,
    ) -> Result<(), JwtError> {
        self.set_cookies(resp, token, opts, Kind::Access)
    }

    /// Sets the refresh cookie and its CSRF cookie (the reference's `set_refresh_cookies`).
    ///
    /// # Errors
    /// As [`set_access_cookies`](Self::set_access_cookies).
    pub fn set_refresh_cookies(&self, resp: &mut Response, token: &str) -> Result<(), JwtError> {
        self.set_cookies(resp, token, &CookieOptions::default(), Kind::Refresh)
    }

    /// [`set_refresh_cookies`](Self::set_refresh_cookies) with a `max_age` or `domain` override.
    pub fn set_refresh_cookies_with(
        &self,
        resp: &mut Response,
        token: &str,
        opts: &CookieOptions,
    ) -> Result<(), JwtError> {
        self.set_cookies(resp, token, opts, Kind::Refresh)
    }

    /// Clears the access cookie and its CSRF cookie: empty value, `Expires` in 1970, same path,
    /// domain and flags (the reference's `unset_access_cookies`).
    ///
    /// # Errors
    /// Only if a configured cookie name or path cannot be written into a header.
    pub fn unset_access_cookies(&self, resp: &mut Response) -> Result<(), JwtError> {
        self.unset_cookies(resp, &CookieOptions::default(), Kind::Access)
    }

    /// Clears the refresh cookie and its CSRF cookie (the reference's `unset_refresh_cookies`).
    ///
    /// # Errors
    /// As [`unset_access_cookies`](Self::unset_access_cookies).
    pub fn unset_refresh_cookies(&self, resp: &mut Response) -> Result<(), JwtError> {
        self.unset_cookies(resp, &CookieOptions::default(), Kind::Refresh)
    }

    /// Clears every JWT cookie (the reference's `unset_jwt_cookies`).
    ///
    /// ```
    /// # let jwt = jwt_runtime::JwtManager::new(jwt_runtime::JwtConfig::default().with_secret("k".repeat(32))).unwrap();
    /// let mut resp = poem::Response::default();
    /// jwt.unset_jwt_cookies(&mut resp).unwrap();
    /// let first = resp.headers().get("set-cookie").unwrap().to_str().unwrap();
    /// assert_eq!(first, "access_token_cookie=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Path=/");
    /// ```
    ///
    /// # Errors
    /// As [`unset_access_cookies`](Self::unset_access_cookies).
    pub fn unset_jwt_cookies(&self, resp: &mut Response) -> Result<(), JwtError> {
        self.unset_jwt_cookies_with(resp, &CookieOptions::default())
    }

    /// [`unset_jwt_cookies`](Self::unset_jwt_cookies) with a `domain` override.
    pub fn unset_jwt_cookies_with(
        &self,
        resp: &mut Response,
        opts: &CookieOptions,
    ) -> Result<(), JwtError> {
        self.unset_cookies(resp, opts, Kind::Access)?;
        self.unset_cookies(resp, opts, Kind::Refresh)
    }
}

/// Startup checks of the cookie options.
pub(crate) fn validate(config: &JwtConfig) -> Result<(), ConfigError> {
    if let Some(s) = &config.cookie_samesite {
        if !matches!(s.as_str(), "None" | "Lax" | "Strict") {
            return Err(ConfigError::new(format!(
                "JWT_COOKIE_SAMESITE must be \"None\", \"Lax\" or \"Strict\", got \"{s}\""
            )));
        }
        if s == "None" && !config.cookie_secure {
            return Err(ConfigError::new(
                "JWT_COOKIE_SAMESITE = \"None\" requires JWT_COOKIE_SECURE = true (browsers drop such cookies otherwise)",
            ));
        }
    }
    if let Some(domain) = &config.cookie_domain {
        if !is_cookie_domain(domain) {
            return Err(ConfigError::new(format!(
                "JWT_COOKIE_DOMAIN: {domain:?} is not a valid cookie domain"
            )));
        }
    }
    let cookies = [
        (
            ("JWT_ACCESS_COOKIE_NAME", &config.access_cookie_name),
            ("JWT_ACCESS_COOKIE_PATH", &config.access_cookie_path),
        ),
        (
            ("JWT_REFRESH_COOKIE_NAME", &config.refresh_cookie_name),
            ("JWT_REFRESH_COOKIE_PATH", &config.refresh_cookie_path),
        ),
        (
            (
                "JWT_ACCESS_CSRF_COOKIE_NAME",
                &config.access_csrf_cookie_name,
            ),
            (
                "JWT_ACCESS_CSRF_COOKIE_PATH",
                &config.access_csrf_cookie_path,
            ),
        ),
        (
            (
                "JWT_REFRESH_CSRF_COOKIE_NAME",
                &config.refresh_csrf_cookie_name,
            ),
            (
                "JWT_REFRESH_CSRF_COOKIE_PATH",
                &config.refresh_csrf_cookie_path,
            ),
        ),
    ];
    for ((option, name), (path_option, path)) in cookies {
        let token_char = |c: char| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c);
        if name.is_empty() || !name.chars().all(token_char) {
            return Err(ConfigError::new(format!(
                "{option}: \"{name}\" is not a valid cookie name"
            )));
        }
        if !path.starts_with('/') || path.chars().any(|c| c == ';' || c.is_ascii_control()) {
            return Err(ConfigError::new(format!(
                "{path_option}: {path:?} is not a valid cookie path (it starts with '/' and holds no ';' or control characters)"
            )));
        }
        if name.starts_with("__Host-")
            && (!config.cookie_secure || path != "/" || config.cookie_domain.is_some())
        {
            return Err(ConfigError::new(format!(
                "{option}: a \"__Host-\" cookie needs JWT_COOKIE_SECURE = true, path \"/\" and no JWT_COOKIE_DOMAIN"
            )));
        }
    }
    for (option, name) in [
        (
            "JWT_ACCESS_CSRF_HEADER_NAME",
            &config.access_csrf_header_name,
        ),
        (
            "JWT_REFRESH_CSRF_HEADER_NAME",
            &config.refresh_csrf_header_name,
        ),
    ] {
        poem::http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ConfigError::new(format!("{option}: \"{name}\" is not a valid header name"))
        })?;
    }
    if config.json_body_limit == 0 {
        return Err(ConfigError::new(
            "JWT_JSON_BODY_LIMIT must be greater than 0",
        ));
    }
    Ok(())
}

/// Implicit refresh (the tutorial's `after_request` pattern, `JWT_IMPLICIT_REFRESH_WINDOW`): a
/// cookie access token that expires within `window` seconds is replaced by a new one for the same
/// identity, set on the same response. A failure keeps the response and is logged.
///
/// Nothing is re-minted from a token that is revoked now: the store is asked again after the
/// handler ran (so a token revoked by the handler itself, or never checked because the route
/// skips revocation, is never refreshed), and a response that already sets or clears the access
/// cookie (a logout, a login) keeps its own. The new token keeps the identity claim as it is (no
/// second `user_identity` mapping) and the old token's own claims; it is not fresh.
pub(crate) async fn refresh_if_expiring(
    manager: &JwtManager,
    token: &crate::verify::VerifiedJwt,
    window: u64,
    resp: &mut Response,
) {
    if token.location() != crate::locate::Location::Cookies || token.token_type() != "access" {
        return;
    }
    let Some(exp) = token.claims().get("exp").and_then(Value::as_f64) else {
        return;
    };
    if manager.now() + window as f64 <= exp {
        return;
    }
    let cookie = &manager.config().access_cookie_name;
    if sets_cookie(resp, cookie) {
        tracing::debug!(target: "jwt_runtime", "implicit refresh skipped: the response sets the access cookie itself");
        return;
    }
    if let Err(e) = crate::verify::check_not_revoked(manager, token).await {
        tracing::info!(target: "jwt_runtime", reason = e.message(), "implicit refresh skipped: the token is not live");
        return;
    }
    let own_claims: JsonObject = token
        .claims()
        .iter()
        .filter(|(name, _)| {
            !crate::claims::RESERVED_CLAIMS.contains(&name.as_str())
                && *name != &manager.config().identity_claim
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let refreshed = manager
        .create_access_token(token.identity().clone())
        .identity_is_claim()
        .additional_claims(own_claims)
        .await;
    match refreshed.and_then(|new_token| manager.set_access_cookies(resp, &new_token)) {
        Ok(()) => tracing::debug!(target: "jwt_runtime", "expiring access cookie refreshed"),
        Err(e) => {
            tracing::warn!(target: "jwt_runtime", reason = e.message(), "implicit refresh failed")
        }
    }
}

/// Whether `resp` already has a `Set-Cookie` line for `name` (setting or clearing it).
fn sets_cookie(resp: &Response, name: &str) -> bool {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|line| line.split_once('=').is_some_and(|(n, _)| n.trim() == name))
}
