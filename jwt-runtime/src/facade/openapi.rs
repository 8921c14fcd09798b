//! poem-openapi support (feature `openapi`): the security parameter that
//! `#[jwt_runtime::openapi]` adds to every protected `#[oai]` operation.
//!
//! The macro wraps each protected operation's endpoint (poem-openapi's `transform`) in the same
//! protection as a `#[jwt_required]` handler ([`run_protected`](super::protection)), and adds one
//! hidden parameter of type [`OpenApiSecurity`]. That parameter is what the generated document
//! sees: a poem-openapi security scheme per token location, named on the operation (with the
//! empty requirement `{}` beside them on `optional` operations). At run time it only confirms
//! that the protection ran.

use poem::Request;
use poem_openapi::registry::{MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::manager::JwtManager;
use super::request_jwt::{self, Checked};
use crate::engine::refuse_without_engine;
use crate::vocabulary::JwtError;

/// Location bit: the `Authorization: Bearer` header.
pub(crate) const HEADERS: u8 = 1;
/// Location bit: the access (or refresh) token cookie.
pub(crate) const COOKIES: u8 = 2;
/// Location bit: the `jwt` query-string parameter.
pub(crate) const QUERY_STRING: u8 = 4;

/// The scheme name of a bearer token in the `Authorization` header.
pub(crate) const BEARER_SCHEME: &str = "JwtBearer";
/// The scheme name of the access token cookie.
pub(crate) const ACCESS_COOKIE_SCHEME: &str = "JwtAccessCookie";
/// The scheme name of the refresh token cookie.
pub(crate) const REFRESH_COOKIE_SCHEME: &str = "JwtRefreshCookie";
/// The scheme name of the `jwt` query-string parameter.
pub(crate) const QUERY_SCHEME: &str = "JwtQuery";

/// The hidden parameter of a protected operation: its security schemes in the document, and a
/// run-time check that the operation's protection ran.
///
/// `LOCATIONS` is a set of bits (1 headers, 2 cookies, 4 query string); `OPTIONAL` adds the empty
/// requirement (anonymous requests are served); `REFRESH` names the refresh token cookie instead
/// of the access token cookie.
#[derive(Debug, Clone, Copy)]
pub struct OpenApiSecurity<const LOCATIONS: u8, const OPTIONAL: bool, const REFRESH: bool>(());

/// One scope of an operation's `scopes = "..."`, as poem-openapi lists it in the operation's
/// security requirement (`{"JwtBearer": ["notes:read"]}`).
#[derive(Debug, Clone, Copy)]
pub struct OpenApiScope(pub &'static str);

impl poem_openapi::OAuthScopes for OpenApiScope {
    fn meta() -> Vec<poem_openapi::registry::MetaOAuthScope> {
        Vec::new()
    }

    fn name(&self) -> &'static str {
        self.0
    }
}

fn schemes(locations: u8, refresh: bool) -> Vec<(&'static str, MetaSecurityScheme)> {
    let mut out = Vec::new();
    if locations & HEADERS != 0 {
        out.push((
            BEARER_SCHEME,
            MetaSecurityScheme {
                ty: "http",
                description: Some("A JWT in the `Authorization: Bearer <token>` header."),
                name: None,
                key_in: None,
                scheme: Some("bearer"),
                bearer_format: Some("JWT"),
                flows: None,
                openid_connect_url: None,
            },
        ));
    }
    if locations & COOKIES != 0 {
        let (scheme, cookie, description) = if refresh {
            (
                REFRESH_COOKIE_SCHEME,
                "refresh_token_cookie",
                "The refresh JWT in its cookie (`JWT_REFRESH_COOKIE_NAME`); a state-changing \
                 request also sends the CSRF header.",
            )
        } else {
            (
                ACCESS_COOKIE_SCHEME,
                "access_token_cookie",
                "The access JWT in its cookie (`JWT_ACCESS_COOKIE_NAME`); a state-changing \
                 request also sends the CSRF header.",
            )
        };
        out.push((
            scheme,
            MetaSecurityScheme {
                ty: "apiKey",
                description: Some(description),
                name: Some(cookie),
                key_in: Some("cookie"),
                scheme: None,
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        ));
    }
    if locations & QUERY_STRING != 0 {
        out.push((
            QUERY_SCHEME,
            MetaSecurityScheme {
                ty: "apiKey",
                description: Some("A JWT in the query string (`JWT_QUERY_STRING_NAME`)."),
                name: Some("jwt"),
                key_in: Some("query"),
                scheme: None,
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        ));
    }
    out
}

impl<'a, const LOCATIONS: u8, const OPTIONAL: bool, const REFRESH: bool> ApiExtractor<'a>
    for OpenApiSecurity<LOCATIONS, OPTIONAL, REFRESH>
{
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        for (name, scheme) in schemes(LOCATIONS, REFRESH) {
            registry.create_security_scheme(name, scheme);
        }
    }

    fn security_schemes() -> Vec<&'static str> {
        schemes(LOCATIONS, REFRESH)
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    fn has_security_fallback() -> bool {
        OPTIONAL
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut poem::RequestBody,
        _options: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        // The protection records the verified token, or that it let an anonymous request
        // through (an optional operation).
        if !matches!(request_jwt::checked(req), Checked::Unchecked) {
            return Ok(OpenApiSecurity(()));
        }
        // Only reachable if the operation's `transform` was removed from the expansion.
        let error = JwtError::Misconfigured(
            "a protected OpenAPI operation was reached without its token check: put \
             `#[jwt_runtime::openapi]` above `#[OpenApi]`"
                .into(),
        );
        Err(match JwtManager::from_request_extensions(req) {
            Ok(manager) => manager.engine().refuse(req, &error, None),
            Err(_) => refuse_without_engine(req, &error),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_scheme_per_location_and_the_refresh_cookie_on_refresh_routes() {
        type All = OpenApiSecurity<{ HEADERS | COOKIES | QUERY_STRING }, false, false>;
        assert_eq!(
            <All as ApiExtractor>::security_schemes(),
            [BEARER_SCHEME, ACCESS_COOKIE_SCHEME, QUERY_SCHEME]
        );
        type Refresh = OpenApiSecurity<COOKIES, false, true>;
        assert_eq!(
            <Refresh as ApiExtractor>::security_schemes(),
            [REFRESH_COOKIE_SCHEME]
        );
        assert!(!<All as ApiExtractor>::has_security_fallback());
        assert!(<OpenApiSecurity<HEADERS, true, false> as ApiExtractor>::has_security_fallback());
    }
}
