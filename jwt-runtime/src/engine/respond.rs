//! The one place a refusal becomes a response: it is logged (INFO, or ERROR for a server fault),
//! then shaped by the application's callback for its kind, its `on_error` hook, or the default
//! `{"<JWT_ERROR_MESSAGE_KEY>": "<message>"}` with the kind's (possibly overridden) status.
//! The pipeline, the extractors, user loading and policies all call [`Engine::refuse`]. With
//! `JWT_BEARER_CHALLENGE`, the response also gets its RFC 6750 challenge here
//! ([`Engine::challenge`]). The answer to OPTIONS on a protected route ([`preflight_response`]) is
//! built here too.

use poem::http::header::WWW_AUTHENTICATE;
use poem::http::{HeaderValue, StatusCode};
use poem::{Request, Response};

use super::dpop::DPOP_NONCE_HEADER;
use super::Engine;
use crate::vocabulary::{JwtError, VerifiedJwt};

impl Engine {
    /// The default response for `error` under this config (with its challenge, when the
    /// manager sends them).
    pub(crate) fn error_response(&self, error: &JwtError) -> Response {
        let status = match error {
            // RFC 9449 section 8: the token endpoint's nonce challenge is a 400.
            JwtError::UseDpopNonce {
                at_token_endpoint: true,
                ..
            } => StatusCode::BAD_REQUEST,
            _ => self.settings.status(error.kind()),
        };
        let mut response = crate::vocabulary::message_response(
            status,
            &self.config.error_message_key,
            error.public_message(),
        );
        self.add_challenge(&mut response, error);
        response
    }

    /// Adds the challenge of `error` to `response`, unless it has one already.
    fn add_challenge(&self, response: &mut Response, error: &JwtError) {
        if let JwtError::UseDpopNonce { nonce, .. } = error
            && let Ok(value) = HeaderValue::from_str(nonce)
        {
            response.headers_mut().insert(DPOP_NONCE_HEADER, value);
        }
        if response.headers().contains_key(WWW_AUTHENTICATE) {
            return;
        }
        if let Some(value) = self.dpop_challenge(error) {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
            return;
        }
        if let Some(value) = self.challenge(error, response.status()) {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
    }

    /// The RFC 6750 §3 challenge for a refusal with `status`, when `JWT_BEARER_CHALLENGE` is on:
    /// `Bearer realm="..."` alone when no token was sent; `error="invalid_token"` when a token
    /// fails verification (422 unless overridden) or is refused with 401; `error=
    /// "insufficient_scope"` with the route's `scope` for a missing scope. Each error carries the
    /// body's message as `error_description`, and every challenge the `resource_metadata` URL
    /// when `JWT_RESOURCE` is set. Other refusals (a policy's 403, a store that is down) get none.
    pub(crate) fn challenge(&self, error: &JwtError, status: StatusCode) -> Option<HeaderValue> {
        let params = self.settings.resource.challenge.as_ref()?;
        let mut parts: Vec<String> = Vec::new();
        if let Some(realm) = &params.realm {
            parts.push(format!("realm={}", quoted(realm)));
        }
        let described = |code: &str| {
            [
                format!("error=\"{code}\""),
                format!(
                    "error_description={}",
                    quoted(&description(error.public_message()))
                ),
            ]
        };
        match error {
            JwtError::NoAuthorization(_) => {}
            JwtError::InsufficientScope { scope, .. } => {
                parts.extend(described("insufficient_scope"));
                parts.push(format!("scope={}", quoted(scope)));
            }
            JwtError::InvalidToken(_) => parts.extend(described("invalid_token")),
            _ if status == StatusCode::UNAUTHORIZED => parts.extend(described("invalid_token")),
            _ => return None,
        }
        if let Some(url) = &params.resource_metadata {
            parts.push(format!("resource_metadata={}", quoted(url)));
        }
        let value = if parts.is_empty() {
            "Bearer".to_string()
        } else {
            format!("Bearer {}", parts.join(", "))
        };
        HeaderValue::from_str(&value).ok()
    }

    /// The RFC 9449 challenge of a DPoP refusal (sent whatever `JWT_BEARER_CHALLENGE`):
    /// `DPoP error="invalid_dpop_proof"`, `"use_dpop_nonce"` or `"invalid_token"` (a binding
    /// that does not hold), with the body's message as `error_description` and the accepted
    /// proof algorithms as `algs`. `None` for any other refusal.
    fn dpop_challenge(&self, error: &JwtError) -> Option<HeaderValue> {
        let code = match error {
            JwtError::InvalidDpopProof(_) => "invalid_dpop_proof",
            JwtError::UseDpopNonce { .. } => "use_dpop_nonce",
            JwtError::DpopBinding(_) => "invalid_token",
            _ => return None,
        };
        let value = format!(
            "DPoP error=\"{code}\", error_description={}, algs={}",
            quoted(&description(error.public_message())),
            quoted(&self.settings.dpop.algs)
        );
        HeaderValue::from_str(&value).ok()
    }

    /// Logs the refusal of `req` and turns it into its response. `token` is the verified token
    /// when the failing check came after verification (the callbacks get its header and payload).
    pub(crate) fn refuse(
        &self,
        req: &Request,
        error: &JwtError,
        token: Option<&VerifiedJwt>,
    ) -> poem::Error {
        let response = match self.hooks.response_for(error, token) {
            Some(mut response) => {
                self.add_challenge(&mut response, error);
                response
            }
            None => self.error_response(error),
        };
        log(req, error, response.status().as_u16());
        poem::Error::from_response(response)
    }
}

/// A refusal where no manager is reachable (its middleware is missing): logged, with the
/// default body.
pub(crate) fn refuse_without_engine(req: &Request, error: &JwtError) -> poem::Error {
    let response = error.to_response("msg");
    log(req, error, response.status().as_u16());
    poem::Error::from_response(response)
}

fn log(req: &Request, error: &JwtError, status: u16) {
    let (path, kind, reason) = (req.uri().path(), error.kind().name(), error.message());
    if error.status().is_server_error() {
        tracing::error!(target: "jwt_runtime", path, kind, status, reason, "jwt check failed");
    } else {
        tracing::info!(target: "jwt_runtime", path, kind, status, reason, "jwt rejected");
    }
}

/// `204 No Content` with no body: the answer to OPTIONS on a protected route.
pub(crate) fn preflight_response() -> Response {
    tracing::debug!(target: "jwt_runtime", "OPTIONS on a protected route answered without running it");
    Response::builder()
        .status(poem::http::StatusCode::NO_CONTENT)
        .finish()
}

/// `value` as an RFC 9110 quoted-string: `"` and `\` escaped with a backslash; a character a
/// header value cannot carry (a control character, non-ASCII) becomes `?`.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' ' | '\t' | '!'..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push('"');
    out
}

/// A message as an RFC 6750 `error_description`, whose characters are `%x20-21 / %x23-5B /
/// %x5D-7E`: `"` becomes `'`, `\` becomes `/`, anything else outside the set `?`.
fn description(message: &str) -> String {
    message
        .chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_values_are_quoted_strings() {
        assert_eq!(quoted("api"), "\"api\"");
        assert_eq!(quoted("a \"b\" \\ c"), "\"a \\\"b\\\" \\\\ c\"");
        assert_eq!(quoted("caf\u{e9}\r\n"), "\"caf???\"");
        assert_eq!(
            description("Missing \"access_token\" in C:\\ \u{e9}\t"),
            "Missing 'access_token' in C:/ ??"
        );
    }
}
