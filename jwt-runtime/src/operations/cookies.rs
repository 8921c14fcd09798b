//! Setting and clearing the JWT and CSRF cookies (the reference's `set_access_cookies`,
//! `set_refresh_cookies`, `unset_*_cookies`), with Werkzeug's `Set-Cookie` attribute order so the
//! headers match the reference byte for byte; and implicit refresh of an expiring access cookie.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use poem::http::{header, HeaderValue};
use poem::Response;
use serde_json::Value;

use super::mint::reissue;
use super::pipeline::check_not_revoked;
use crate::engine::settings::is_cookie_domain;
use crate::engine::Engine;
use crate::vocabulary::{JwtError, Location, TokenType, VerifiedJwt};

/// The reference's hard-coded lifetime of a persistent cookie (about 365 days).
const PERSISTENT_MAX_AGE: u64 = 31_540_000;

/// 9999-12-31 23:59:59 UTC, the last instant an HTTP date can name.
const LAST_HTTP_DATE: u64 = 253_402_300_799;

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
    /// Overrides `JWT_COOKIE_DOMAIN`. Checked when used: a value that could add attributes
    /// (`;`, whitespace, control characters) is a [`JwtError::Cookie`].
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

/// RFC 6265 `cookie-octet`: what a cookie value may hold unquoted. A JWT (base64url and dots)
/// always fits; anything with `;`, `,`, whitespace, quotes or control characters could add
/// attributes or cookies of its own.
fn is_cookie_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E))
}

fn checked_domain(domain: Option<&str>) -> Result<Option<&str>, JwtError> {
    match domain {
        Some(d) if !is_cookie_domain(d) => Err(JwtError::Cookie(
            format!("CookieOptions::domain: {d:?} is not a valid cookie domain").into(),
        )),
        other => Ok(other),
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

/// The cookies of one manager, written with its settings: what `set_*_cookies` and
/// `unset_*_cookies` of [`JwtManager`](crate::JwtManager), implicit refresh and rotation set.
pub(crate) struct Cookies<'e>(pub(crate) &'e Engine);

impl Cookies<'_> {
    /// Werkzeug's `dump_cookie` order: Domain, Expires, Max-Age, Secure, HttpOnly, Path,
    /// SameSite.
    fn set_cookie_line(&self, name: &str, value: &str, a: &Attributes<'_>, now: f64) -> String {
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
        if self.0.config.cookie_secure {
            line.push_str("; Secure");
        }
        if a.http_only {
            line.push_str("; HttpOnly");
        }
        line.push_str("; Path=");
        line.push_str(a.path);
        if let Some(same_site) = self.0.settings.same_site {
            line.push_str("; SameSite=");
            line.push_str(same_site.as_str());
        }
        line
    }

    /// The `csrf` claim of a valid token (the reference's `get_csrf_token`).
    pub(crate) fn csrf_of(&self, token: &str) -> Result<String, JwtError> {
        match self.0.decode(token)?.get("csrf") {
            Some(Value::String(csrf)) => Ok(csrf.clone()),
            _ => Err(JwtError::invalid("Missing claim: csrf")),
        }
    }

    /// Sets the JWT cookie of `token_type` and, under CSRF protection with
    /// `JWT_CSRF_IN_COOKIES`, its readable CSRF cookie.
    pub(crate) fn set_cookies(
        &self,
        resp: &mut Response,
        token: &str,
        opts: &CookieOptions,
        token_type: TokenType,
    ) -> Result<(), JwtError> {
        let config = &self.0.config;
        let names = self.0.settings.names(token_type);
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
        let now = self.0.now();
        let jwt = Attributes {
            domain,
            max_age,
            expired: false,
            http_only: true,
            path: &names.cookie_path,
        };
        let csrf = if config.cookie_csrf_protect && config.csrf_in_cookies {
            Some(self.csrf_of(token)?)
        } else {
            None
        };
        let mut lines = vec![header_value(self.set_cookie_line(
            &names.cookie,
            token,
            &jwt,
            now,
        ))?];
        if let Some(csrf) = csrf {
            let attrs = Attributes {
                http_only: false,
                path: &names.csrf_cookie_path,
                ..jwt
            };
            lines.push(header_value(self.set_cookie_line(
                &names.csrf_cookie,
                &csrf,
                &attrs,
                now,
            ))?);
        }
        append_all(resp, lines);
        Ok(())
    }

    /// Clears the JWT cookie of `token_type` and its CSRF cookie: empty value, `Expires` in
    /// 1970, same path, domain and flags.
    pub(crate) fn unset_cookies(
        &self,
        resp: &mut Response,
        opts: &CookieOptions,
        token_type: TokenType,
    ) -> Result<(), JwtError> {
        let config = &self.0.config;
        let names = self.0.settings.names(token_type);
        let domain = checked_domain(opts.domain.as_deref())?.or(config.cookie_domain.as_deref());
        let jwt = Attributes {
            domain,
            max_age: None,
            expired: true,
            http_only: true,
            path: &names.cookie_path,
        };
        let mut lines = vec![header_value(self.set_cookie_line(
            &names.cookie,
            "",
            &jwt,
            0.0,
        ))?];
        if config.cookie_csrf_protect && config.csrf_in_cookies {
            let attrs = Attributes {
                http_only: false,
                path: &names.csrf_cookie_path,
                ..jwt
            };
            lines.push(header_value(self.set_cookie_line(
                &names.csrf_cookie,
                "",
                &attrs,
                0.0,
            ))?);
        }
        append_all(resp, lines);
        Ok(())
    }
}

/// Implicit refresh (the tutorial's `after_request` pattern, `JWT_IMPLICIT_REFRESH_WINDOW`): a
/// cookie access token that expires within the window is replaced by a new one for the same
/// identity, set on the same response. A failure keeps the response and is logged.
///
/// Nothing is re-minted from a token that is revoked now: the store is asked again after the
/// handler ran (so a token revoked by the handler itself, or never checked because the route
/// skips revocation, is never refreshed), and a response that already sets or clears the access
/// cookie (a logout, a login) keeps its own. The new token is a re-issue
/// ([`reissue`](super::mint::reissue)): the identity claim as it is, the session, `fresh: false`,
/// and what the additional-claims loader says now; nothing else is copied from the old token.
pub(crate) async fn refresh_if_expiring(
    engine: &Arc<Engine>,
    token: &VerifiedJwt,
    resp: &mut Response,
) {
    let Some(window) = engine.config.implicit_refresh_window else {
        return;
    };
    if token.location() != Location::Cookies || token.token_type() != TokenType::Access.as_str() {
        return;
    }
    let Some(exp) = token.claims().get("exp").and_then(Value::as_f64) else {
        return;
    };
    if engine.now() + window as f64 <= exp {
        return;
    }
    if engine.is_foreign(token) {
        tracing::debug!(target: "jwt_runtime", "implicit refresh skipped: the token was issued elsewhere");
        return;
    }
    if sets_cookie(resp, &engine.settings.names(TokenType::Access).cookie) {
        tracing::debug!(target: "jwt_runtime", "implicit refresh skipped: the response sets the access cookie itself");
        return;
    }
    if let Err(e) = check_not_revoked(engine, token, false).await {
        tracing::info!(target: "jwt_runtime", reason = e.message(), "implicit refresh skipped: the token is not live");
        return;
    }
    let refreshed = reissue(engine, token, TokenType::Access).await;
    let set = refreshed.and_then(|new_token| {
        Cookies(engine).set_cookies(
            resp,
            &new_token,
            &CookieOptions::default(),
            TokenType::Access,
        )
    });
    match set {
        Ok(()) => tracing::debug!(target: "jwt_runtime", "expiring access cookie refreshed"),
        Err(e) => {
            tracing::warn!(target: "jwt_runtime", reason = e.message(), "implicit refresh failed")
        }
    }
}

/// Whether `resp` already has a `Set-Cookie` line for `name` (setting or clearing it).
pub(crate) fn sets_cookie(resp: &Response, name: &str) -> bool {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|line| line.split_once('=').is_some_and(|(n, _)| n.trim() == name))
}
