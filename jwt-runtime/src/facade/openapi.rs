//! poem-openapi support (feature `openapi`): the security parameter that
//! `#[jwt_runtime::openapi]` adds to every protected `#[oai]` operation.
//!
//! The macro wraps each protected operation's endpoint (poem-openapi's `transform`) in the same
//! protection as a `#[jwt_required]` handler ([`run_protected`](super::protection)), and adds one
//! hidden parameter of type [`OpenApiSecurity`]. That parameter is what the generated document
//! sees: a poem-openapi security scheme per token location, named on the operation (with the
//! empty requirement `{}` beside them on `optional` operations). At run time it only confirms
//! that the protection ran.
//!
//! The operation's return type `R` becomes [`OpenApiResponses<R, P>`]: `R`'s own responses, plus
//! the refusals the protection can answer (401, 403, 422, 500, 503, each with the `{"msg": ...}`
//! body and the reference's message as its example), as the operation's arguments
//! (`P: `[`OpenApiRefusals`]) make them possible. An extractor cannot add responses in
//! poem-openapi 5 (`ApiExtractor` has no such hook, `MetaMediaType` no examples), and the
//! `OpenApi` impl is generated after this macro ran; the return type is the one place whose
//! `ApiResponse::meta` poem-openapi reads for the operation.

use std::collections::BTreeSet;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Mutex, PoisonError};

use poem::Request;
use poem_openapi::registry::{
    MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, MetaSecurityScheme,
    Registry,
};
use poem_openapi::{ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions};

use super::manager::JwtManager;
use super::request_jwt::{self, Checked};
use crate::engine::locate::missing_message;
use crate::engine::refuse_without_engine;
use crate::vocabulary::{JwtError, Location};

/// Location bit: the `Authorization: Bearer` header.
pub(crate) const HEADERS: u8 = 1;
/// Location bit: the access (or refresh) token cookie.
pub(crate) const COOKIES: u8 = 2;
/// Location bit: the `jwt` query-string parameter.
pub(crate) const QUERY_STRING: u8 = 4;

/// Refusal bit: `optional` (an absent token is served, not refused).
pub const OPTIONAL: u16 = 8;
/// Refusal bit: `refresh` (refresh tokens only).
pub const REFRESH: u16 = 16;
/// Refusal bit: `fresh`.
pub const FRESH: u16 = 32;
/// Refusal bit: `skip_revocation_check` (no revocation store is asked).
pub const SKIP_REVOCATION: u16 = 64;
/// Refusal bit: `verify_type = false` (no wrong-type refusal).
pub const NO_TYPE_CHECK: u16 = 128;
/// Refusal bit: a `CurrentUser<U>` parameter (its loader can find no user, or fail).
pub const USERS: u16 = 256;
/// Refusal bit: `dpop` / `dpop = "allowed"` (DPoP-bound tokens with a `DPoP` proof, RFC 9449).
pub const DPOP: u16 = 512;

/// The scheme name of a bearer token in the `Authorization` header.
pub(crate) const BEARER_SCHEME: &str = "JwtBearer";
/// The scheme name of a refresh token in the `Authorization` header (refresh operations).
pub(crate) const REFRESH_BEARER_SCHEME: &str = "JwtRefreshBearer";
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
        let (scheme, description) = if refresh {
            (
                REFRESH_BEARER_SCHEME,
                "The refresh JWT in the `Authorization: Bearer <token>` header.",
            )
        } else {
            (
                BEARER_SCHEME,
                "A JWT in the `Authorization: Bearer <token>` header.",
            )
        };
        out.push((
            scheme,
            MetaSecurityScheme {
                ty: "http",
                description: Some(description),
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

/// What one protected operation's protection can refuse, for its responses in the document.
/// `#[jwt_runtime::openapi]` emits one implementing type per operation.
pub trait OpenApiRefusals {
    /// The locations (1 headers, 2 cookies, 4 query string) and the refusal bits
    /// ([`OPTIONAL`], [`REFRESH`], [`FRESH`], [`SKIP_REVOCATION`], [`NO_TYPE_CHECK`], [`USERS`]).
    const FLAGS: u16;
    /// The 403 messages of the operation's policies (roles, admin, scopes, a custom policy), the
    /// first one the example; empty when nothing on the operation answers 403.
    const FORBIDDEN: &'static [&'static str];
}

/// A protected operation's return value: `R`'s responses, and in the document also the
/// refusals `P` says its protection can answer (an operation's own response for a status wins).
/// At run time it is `R`.
pub struct OpenApiResponses<R, P>(pub R, PhantomData<fn() -> P>);

impl<R: std::fmt::Debug, P> std::fmt::Debug for OpenApiResponses<R, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("OpenApiResponses").field(&self.0).finish()
    }
}

impl<R, P> OpenApiResponses<R, P> {
    /// Wraps the operation's own return value.
    pub fn new(value: R) -> Self {
        OpenApiResponses(value, PhantomData)
    }
}

/// The operation's body, typed as its declared return type: the `?` and `return` inside it keep
/// their meaning when the macro wraps it in an `async` block.
pub fn operation_body<R, F: Future<Output = R>>(body: F) -> F {
    body
}

impl<T, R, P> poem::error::IntoResult<T> for OpenApiResponses<R, P>
where
    T: poem::IntoResponse,
    R: poem::error::IntoResult<T>,
{
    fn into_result(self) -> poem::Result<T> {
        self.0.into_result()
    }
}

impl<R: ApiResponse, P: OpenApiRefusals> ApiResponse for OpenApiResponses<R, P> {
    const BAD_REQUEST_HANDLER: bool = R::BAD_REQUEST_HANDLER;

    fn meta() -> MetaResponses {
        let mut meta = R::meta();
        for refusal in refusals(P::FLAGS, P::FORBIDDEN) {
            if !meta
                .responses
                .iter()
                .any(|own| own.status == refusal.status)
            {
                meta.responses.push(refusal);
            }
        }
        meta
    }

    fn register(registry: &mut Registry) {
        R::register(registry);
    }

    fn from_parse_request_error(err: poem::Error) -> Self {
        OpenApiResponses::new(R::from_parse_request_error(err))
    }
}

/// An operation's `#[oai(actual_type = "T")]` becomes `OpenApiResponses<T, P>`: poem-openapi
/// reads the documented responses ([`ApiResponse`]) and the response's content type
/// ([`Payload`](poem_openapi::payload::Payload)) from it. Both are `T`'s; the responses gain the
/// refusals.
impl<R: poem_openapi::payload::Payload, P> poem_openapi::payload::Payload
    for OpenApiResponses<R, P>
{
    const CONTENT_TYPE: &'static str = R::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        R::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        R::schema_ref()
    }

    fn register(registry: &mut Registry) {
        <R as poem_openapi::payload::Payload>::register(registry);
    }
}

/// A `&'static str` for a description built from an operation's flags (poem-openapi's metadata
/// holds `&'static str`): each distinct text is leaked once, and there are finitely many.
fn intern(text: String) -> &'static str {
    static SEEN: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = seen.get(text.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(text.into_boxed_str());
    seen.insert(leaked);
    leaked
}

/// One documented refusal: the error body `{"msg": string}` with `example` as its example.
fn refusal(status: u16, lead: &str, causes: &[String], example: &str) -> MetaResponse {
    let mut schema = MetaSchema::new("object");
    schema.required = vec!["msg"];
    schema.properties = vec![(
        "msg",
        MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
    )];
    schema.example = Some(serde_json::json!({ "msg": example }));
    let quoted: Vec<String> = causes.iter().map(|c| format!("`{c}`")).collect();
    MetaResponse {
        description: intern(format!(
            "{lead}. The JWT protection's messages (default status and message key): {}.",
            quoted.join(", ")
        )),
        status: Some(status),
        status_range: None,
        content: vec![MetaMediaType {
            content_type: "application/json",
            schema: MetaSchemaRef::Inline(Box::new(schema)),
        }],
        headers: Vec::new(),
    }
}

/// The refusals of an operation with `flags`, with the reference's messages under the default
/// settings (`JWT_STATUS_CODES`, `JWT_ERROR_MESSAGE_KEY` and the location names are the
/// manager's, unknown when the document is built).
fn refusals(flags: u16, forbidden: &[&str]) -> Vec<MetaResponse> {
    let refresh = flags & REFRESH != 0;
    let mut locations = Vec::new();
    let mut absent = Vec::new();
    if flags & u16::from(HEADERS) != 0 {
        locations.push(Location::Headers);
        absent.push("Missing Authorization Header".to_string());
    }
    if flags & u16::from(COOKIES) != 0 {
        locations.push(Location::Cookies);
        let cookie = if refresh {
            "refresh_token_cookie"
        } else {
            "access_token_cookie"
        };
        absent.push(format!("Missing cookie \"{cookie}\""));
    }
    if flags & u16::from(QUERY_STRING) != 0 {
        locations.push(Location::QueryString);
        absent.push("Missing 'jwt' query paramater".to_string());
    }
    let mut unauthorized = Vec::new();
    if flags & OPTIONAL == 0 && !locations.is_empty() {
        unauthorized.push(missing_message(&locations, &absent));
    }
    if flags & u16::from(COOKIES) != 0 {
        unauthorized.push("Missing CSRF token".into());
        unauthorized.push("CSRF double submit tokens do not match".into());
    }
    unauthorized.push(JwtError::Expired.message().to_string());
    if flags & SKIP_REVOCATION == 0 {
        unauthorized.push(JwtError::Revoked.message().to_string());
    }
    if refresh {
        unauthorized.push(JwtError::RefreshReused.message().to_string());
    }
    if flags & FRESH != 0 {
        unauthorized.push(JwtError::FreshRequired.message().to_string());
    }
    if flags & USERS != 0 {
        unauthorized.push("Error loading the user <identity>".into());
    }
    if flags & DPOP != 0 {
        // RFC 9449: `Authorization: DPoP <token>` with a `DPoP` proof header; the refusals
        // carry `WWW-Authenticate: DPoP error="..."`.
        unauthorized.push("Invalid DPoP proof: <the failed check>".into());
        unauthorized.push(
            JwtError::UseDpopNonce {
                nonce: String::new(),
                at_token_endpoint: false,
            }
            .message()
            .to_string(),
        );
        unauthorized
            .push("A DPoP-bound token must be sent with the DPoP authorization scheme".into());
        unauthorized.push("The token is bound to another key than the DPoP proof's".into());
    }
    let mut out = vec![refusal(
        401,
        "No usable token",
        &unauthorized,
        &unauthorized[0],
    )];
    if let Some(first) = forbidden.first() {
        let messages: Vec<String> = forbidden.iter().map(|m| m.to_string()).collect();
        out.push(refusal(
            403,
            "The token does not meet the operation's policy",
            &messages,
            first,
        ));
    }
    let mut invalid: Vec<String> = Vec::new();
    if flags & NO_TYPE_CHECK == 0 {
        invalid.push(
            if refresh {
                "Only refresh tokens are allowed"
            } else {
                "Only non-refresh tokens are allowed"
            }
            .into(),
        );
    }
    for message in [
        "Signature verification failed",
        "Not enough segments",
        "The specified alg value is not allowed",
    ] {
        invalid.push(message.into());
    }
    out.push(refusal(
        422,
        "A token was sent but is malformed, fails verification or has the wrong type",
        &invalid,
        &invalid[0],
    ));
    if flags & USERS != 0 {
        let failed = JwtError::UserLookupFailed.message().to_string();
        out.push(refusal(
            500,
            "The user loader failed",
            std::slice::from_ref(&failed),
            &failed,
        ));
    }
    if flags & SKIP_REVOCATION == 0 {
        let down = JwtError::RevocationUnavailable.message().to_string();
        out.push(refusal(
            503,
            "The revocation store could not answer (only with a store configured)",
            std::slice::from_ref(&down),
            &down,
        ));
    }
    out
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

    struct Own;
    impl ApiResponse for Own {
        fn meta() -> MetaResponses {
            MetaResponses {
                responses: vec![MetaResponse {
                    description: "mine",
                    status: Some(401),
                    status_range: None,
                    content: Vec::new(),
                    headers: Vec::new(),
                }],
            }
        }
        fn register(_: &mut Registry) {}
    }
    struct Scoped;
    impl OpenApiRefusals for Scoped {
        const FLAGS: u16 = HEADERS as u16 | OPTIONAL | SKIP_REVOCATION;
        const FORBIDDEN: &'static [&'static str] = &["Missing scope: a"];
    }

    #[test]
    fn the_operation_keeps_its_own_statuses_and_gets_only_what_its_flags_allow() {
        let meta = <OpenApiResponses<Own, Scoped> as ApiResponse>::meta();
        let statuses: Vec<_> = meta.responses.iter().map(|r| r.status).collect();
        // Its own 401; no 503 without a revocation check; no 500 without a user loader.
        assert_eq!(statuses, [Some(401), Some(403), Some(422)]);
        assert_eq!(meta.responses[0].description, "mine");
        let optional = refusals(u16::from(HEADERS) | OPTIONAL, &[]);
        assert!(!optional[0]
            .description
            .contains("Missing Authorization Header"));
        let required = refusals(u16::from(HEADERS), &[]);
        assert!(required[0]
            .description
            .contains("Missing Authorization Header"));
        // Each distinct description is leaked once.
        assert!(std::ptr::eq(
            refusals(u16::from(HEADERS), &[])[0].description,
            required[0].description
        ));
    }
}
