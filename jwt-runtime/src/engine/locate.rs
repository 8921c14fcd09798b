//! Finding the token in the request: each location's extractor and the precedence rules.
//!
//! Each extractor answers `Found`, `Absent(reason)` or a hard error. Only an absent token moves on
//! to the next location; a present-but-bad carrier fails at once (the reference's semantics).

use bytes::Bytes;
use poem::error::ReadBodyError;
use poem::http::header;
use poem::Request;
use serde_json::Value;

use super::dpop::DPOP_SCHEME;
use super::settings::Settings;
use crate::config::JwtConfig;
use crate::vocabulary::{JwtError, Location, TokenType};

/// What one location found.
pub(crate) enum Found {
    Token(String),
    Absent(String),
}

/// A token found in the request, with where, and the CSRF value submitted beside a cookie token
/// (checked against the token's `csrf` claim once the token is verified).
pub(crate) struct Located {
    pub(crate) token: String,
    pub(crate) location: Location,
    pub(crate) csrf: Option<String>,
    /// The scheme it was presented under.
    pub(crate) scheme: Scheme,
}

/// How a token was presented: as a bearer token (`Authorization: Bearer`, or the configured
/// `JWT_HEADER_TYPE`; any other location), or as a DPoP-bound one (`Authorization: DPoP`, RFC
/// 9449), which needs a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Bearer,
    Dpop,
}

/// The header's token under the configured type or, on a route that takes DPoP, under `DPoP`
/// (a header holding both is refused: which one is meant cannot be told).
fn from_headers_or_dpop(
    req: &Request,
    settings: &Settings,
    config: &JwtConfig,
    dpop: bool,
) -> Result<(Found, Scheme), JwtError> {
    let bearer = from_headers(req, settings, config)?;
    if !dpop || config.header_type == DPOP_SCHEME {
        return Ok((bearer, Scheme::Bearer));
    }
    match (
        bearer,
        from_headers_in_full(req, settings, config, DPOP_SCHEME)?,
    ) {
        (Found::Token(_), Found::Token(_)) => Err(JwtError::invalid(format!(
            "Bad {} header. Expected one token, under '{}' or '{DPOP_SCHEME}'",
            config.header_name, config.header_type
        ))),
        (Found::Absent(_), Found::Token(token)) => Ok((Found::Token(token), Scheme::Dpop)),
        (bearer, _) => Ok((bearer, Scheme::Bearer)),
    }
}

/// Python's `str.split()`: runs of whitespace separate, no empty parts. Header values are
/// visible ASCII (non-ASCII is refused before), so ASCII whitespace is all there is.
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split_ascii_whitespace()
}

/// Python's `re.split(r",\s*", s)`.
fn comma_entries(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find(',') {
        out.push(&rest[..i]);
        rest = rest[i + 1..].trim_start();
    }
    out.push(rest);
    out
}

/// The reference's `_decode_jwt_from_headers`, including its multi-valued header rules.
pub(crate) fn from_headers(
    req: &Request,
    settings: &Settings,
    config: &JwtConfig,
) -> Result<Found, JwtError> {
    if let Some(token) = single_header_token(req, settings, config) {
        return Ok(Found::Token(token.to_string()));
    }
    from_headers_in_full(req, settings, config, &config.header_type)
}

/// The token of the common header, `<type> <token>` with one space and nothing else, borrowed
/// from the request: what [`from_headers`] finds in it. `None` for any other header (or none),
/// which [`from_headers`] then reads by the full rules.
pub(crate) fn single_header_token<'r>(
    req: &'r Request,
    settings: &Settings,
    config: &JwtConfig,
) -> Option<&'r str> {
    header_token_bytes(req, settings, config).and_then(plain_token)
}

/// What follows `<type> ` in the header, when the header starts that way and the rest is not
/// empty: the bytes [`single_header_token`] reads as the token if they are all [`plain`]. Not
/// checked any further, so only for comparing with a token known to be plain.
pub(crate) fn header_token_bytes<'r>(
    req: &'r Request,
    settings: &Settings,
    config: &JwtConfig,
) -> Option<&'r [u8]> {
    let value = req.headers().get(&settings.header_name)?;
    after_type(value.as_bytes(), &config.header_type)
}

/// Whether a byte can be part of a word that [`from_headers_in_full`] reads as it is: visible
/// ASCII other than the comma (no whitespace, no separator).
fn plain(byte: u8) -> bool {
    // `is_ascii_graphic() && byte != b','`, without branches.
    (byte.wrapping_sub(b'!') < b'~' - b'!' + 1) & (byte != b',')
}

/// `value` after `<kind> `, when `kind` is a plain word and something follows it.
fn after_type<'v>(value: &'v [u8], kind: &str) -> Option<&'v [u8]> {
    let rest = value.strip_prefix(kind.as_bytes())?.strip_prefix(b" ")?;
    let valid = !kind.is_empty() && kind.bytes().all(plain) && !rest.is_empty();
    valid.then_some(rest)
}

/// `rest` as the token, when it is one plain word (the full rules would read the same token
/// from `<type> <rest>`), `None` for anything else, which the full rules then read.
pub(crate) fn plain_token(rest: &[u8]) -> Option<&str> {
    // Visible ASCII only, so always UTF-8.
    all_plain(rest)
        .then(|| std::str::from_utf8(rest).ok())
        .flatten()
}

/// Whether every byte is [`plain`].
pub(crate) fn all_plain(bytes: &[u8]) -> bool {
    // Without an early exit, the check of a token's ~200 bytes compiles to vector code.
    bytes.iter().fold(true, |ok, b| ok & plain(*b))
}

/// The common header, `<type> <token>` with one space and nothing else, in one pass: the token
/// when `value` is exactly that, `None` for anything else.
#[cfg(test)]
fn single_token<'v>(value: &'v [u8], kind: &str) -> Option<&'v str> {
    after_type(value, kind).and_then(plain_token)
}

/// [`from_headers`] for any header value: the reference's rules step by step, for the scheme
/// `kind` (`JWT_HEADER_TYPE`, or `DPoP`).
fn from_headers_in_full(
    req: &Request,
    settings: &Settings,
    config: &JwtConfig,
    kind: &str,
) -> Result<Found, JwtError> {
    let name = &config.header_name;
    let value = match req.headers().get(&settings.header_name).map(|v| v.to_str()) {
        None => "",
        Some(Ok(v)) => v,
        Some(Err(_)) => {
            return Err(JwtError::invalid(format!(
                "Bad {name} header. It must be ASCII text"
            )))
        }
    };
    let value = value.trim().trim_matches(',');
    if value.is_empty() {
        return Ok(Found::Absent(format!("Missing {name} Header")));
    }
    if kind.is_empty() {
        let mut parts = words(value);
        return match (parts.next(), parts.next()) {
            (Some(token), None) => Ok(Found::Token(token.to_string())),
            _ => Err(JwtError::invalid(format!(
                "Bad {name} header. Expected '{name}: <JWT>'"
            ))),
        };
    }
    let entries: Vec<&str> = comma_entries(value)
        .into_iter()
        .filter(|entry| words(entry).next() == Some(kind))
        .collect();
    let [entry] = entries.as_slice() else {
        return Ok(Found::Absent(format!(
            "Missing '{kind}' type in '{name}' header. Expected '{name}: {kind} <JWT>'"
        )));
    };
    let mut parts = words(entry);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(token), None) => Ok(Found::Token(token.to_string())),
        _ => Err(JwtError::invalid(format!(
            "Bad {name} header. Expected '{name}: {kind} <JWT>'"
        ))),
    }
}

/// The reference's `_decode_jwt_from_query_string` (its "paramater" spelling included).
pub(crate) fn from_query_string(req: &Request, config: &JwtConfig) -> Result<Found, JwtError> {
    let name = &config.query_string_name;
    let value = req.uri().query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    });
    let value = match value {
        Some(v) if !v.is_empty() => v,
        _ => return Ok(Found::Absent(format!("Missing '{name}' query paramater"))),
    };
    let prefix = &config.query_string_value_prefix;
    match value.strip_prefix(prefix.as_str()) {
        Some(token) => Ok(Found::Token(token.to_string())),
        None => Err(JwtError::invalid(format!(
            "Invalid value for query parameter '{name}'. Expected the value to start with '{prefix}'"
        ))),
    }
}

/// Every value of the cookie `name` in the request's `Cookie` headers. Read by hand: Poem's
/// `req.cookie()` panics unless `CookieJarManager` ran, and users must not need it.
fn cookie_values<'a>(req: &'a Request, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    req.headers()
        .get_all(header::COOKIE)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(move |pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k.trim() == name).then(|| v.trim().trim_matches('"'))
        })
}

/// The cookie extractor with its CSRF double-submit rules (the reference's
/// `_decode_jwt_from_cookies`). A cookie sent twice is refused: ambiguity is how cookie tossing
/// works (a documented difference).
async fn from_cookies(
    req: &mut Request,
    settings: &Settings,
    config: &JwtConfig,
    token_type: TokenType,
) -> Result<(Found, Option<String>), JwtError> {
    let names = settings.names(token_type);
    let name = &names.cookie;
    let token = {
        let mut values = cookie_values(req, name).filter(|v| !v.is_empty());
        (values.next().map(String::from), values.next().is_some())
    };
    let token = match token {
        (None, _) => return Ok((Found::Absent(format!("Missing cookie \"{name}\"")), None)),
        (Some(_), true) => {
            return Err(JwtError::NoAuthorization(
                format!("Cookie \"{name}\" was sent more than once").into(),
            ))
        }
        (Some(token), false) => token,
    };
    if !needs_csrf(req, settings, config, token_type) {
        return Ok((Found::Token(token), None));
    }
    let mut csrf = req
        .headers()
        .get(&names.csrf_header)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(String::from);
    if csrf.is_none() && config.csrf_check_form && is_form(req) {
        let body = buffered_body(req, config.json_body_limit).await?;
        csrf = form_urlencoded::parse(&body)
            .find(|(k, _)| k == names.csrf_field.as_str())
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty());
    }
    match csrf {
        Some(value) => Ok((Found::Token(token), Some(value))),
        None => Err(JwtError::Csrf("Missing CSRF token".into())),
    }
}

/// Whether a cookie token of `token_type` on this request needs its CSRF value: under
/// `JWT_COOKIE_CSRF_PROTECT`, on the `JWT_CSRF_METHODS`, and on every method for a refresh token
/// under `JWT_REFRESH_ROTATION` (a refresh route rotates it: a state change even on GET).
fn needs_csrf(
    req: &Request,
    settings: &Settings,
    config: &JwtConfig,
    token_type: TokenType,
) -> bool {
    let rotates = token_type == TokenType::Refresh && config.refresh_rotation;
    config.cookie_csrf_protect && (rotates || settings.is_csrf_method(req.method()))
}

fn content_type(req: &Request) -> &str {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn is_form(req: &Request) -> bool {
    content_type(req).starts_with("application/x-www-form-urlencoded")
}

/// Flask's `request.is_json`: the media type (parameters dropped, case-insensitive) is
/// `application/json` or `application/<anything>+json`.
fn is_json(req: &Request) -> bool {
    let media_type = content_type(req)
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media_type == "application/json"
        || media_type
            .strip_prefix("application/")
            .is_some_and(|sub| sub.len() > "+json".len() && sub.ends_with("+json"))
}

/// Python's truthiness of a JSON value: `null`, `false`, `0`, `""`, `[]` and `{}` are falsy.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Reads the body (at most `limit` bytes, refusing a larger one without buffering it whole) and
/// puts it back, so the handler's own `Json<T>` or `Form<T>` still receives it.
async fn buffered_body(req: &mut Request, limit: usize) -> Result<Bytes, JwtError> {
    let too_large = || {
        JwtError::PayloadTooLarge(format!("Request body is too large (over {limit} bytes)").into())
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    // Boxed: reading a body is a ~4 KiB future, which would otherwise be part of the pipeline's
    // future on every request (and be moved with it), also when no body is ever read.
    match Box::pin(req.take_body().into_bytes_limit(limit)).await {
        Ok(bytes) => {
            req.set_body(bytes.clone());
            Ok(bytes)
        }
        Err(ReadBodyError::PayloadTooLarge) => Err(too_large()),
        Err(e) => Err(JwtError::invalid(format!(
            "Cannot read the request body: {e}"
        ))),
    }
}

/// The reference's `_decode_jwt_from_json` (`request.json and request.json.get(key)`): a falsy
/// body (`null`, `[]`, `{}`, `0`, `""`, `false`) or a falsy value under the key is a missing token.
/// A truthy body that is not an object is refused with a clear 422 (the reference crashes with a
/// 500 there).
async fn from_json(
    req: &mut Request,
    settings: &Settings,
    config: &JwtConfig,
    token_type: TokenType,
) -> Result<Found, JwtError> {
    if !is_json(req) {
        return Ok(Found::Absent(
            "Invalid content-type. Must be application/json.".into(),
        ));
    }
    let key = &settings.names(token_type).json_key;
    let missing = || Found::Absent(format!("Missing \"{key}\" key in json data."));
    let body = buffered_body(req, config.json_body_limit).await?;
    let value = match serde_json::from_slice::<Value>(&body) {
        Ok(value) if is_truthy(&value) => value,
        _ => return Ok(missing()),
    };
    let Value::Object(map) = value else {
        return Err(JwtError::invalid(format!(
            "The JSON body must be an object to carry \"{key}\""
        )));
    };
    match map.get(key.as_str()) {
        None => Ok(missing()),
        Some(v) if !is_truthy(v) => Ok(missing()),
        Some(Value::String(s)) => Ok(Found::Token(s.clone())),
        Some(_) => Err(JwtError::invalid(
            "Invalid token type. Token must be a string",
        )),
    }
}

/// Tries each location in order; returns the token, where it was found and any CSRF value, or
/// the reference's "missing" message (the single location's own, or the combined one).
pub(crate) async fn locate(
    req: &mut Request,
    settings: &Settings,
    config: &JwtConfig,
    locations: &[Location],
    token_type: TokenType,
    dpop: bool,
) -> Result<Result<Located, String>, JwtError> {
    // Only filled when no location has a token: no allocation on the common path.
    let mut reasons = Vec::new();
    for &location in locations {
        let mut scheme = Scheme::Bearer;
        let (found, csrf) = match location {
            Location::Headers => {
                let (found, by) = from_headers_or_dpop(req, settings, config, dpop)?;
                scheme = by;
                (found, None)
            }
            Location::QueryString => (from_query_string(req, config)?, None),
            Location::Cookies => from_cookies(req, settings, config, token_type).await?,
            Location::Json => (from_json(req, settings, config, token_type).await?, None),
        };
        match found {
            Found::Token(token) => {
                return Ok(Ok(Located {
                    token,
                    location,
                    csrf,
                    scheme,
                }))
            }
            Found::Absent(reason) => reasons.push(reason),
        }
    }
    Ok(Err(missing_message(locations, &reasons)))
}

/// The refusal when no location holds a token: the one location's reason, or the reference's combined
/// "Missing JWT in ..." (also the example of a documented OpenAPI operation's 401).
pub(crate) fn missing_message(locations: &[Location], reasons: &[String]) -> String {
    match (locations, reasons) {
        ([_], [only]) => only.clone(),
        ([init @ .., last], _) => {
            let names: Vec<&str> = init.iter().map(|l| l.as_str()).collect();
            format!(
                "Missing JWT in {} or {} ({})",
                names.join(", "),
                last.as_str(),
                reasons.join("; ")
            )
        }
        ([], _) => "Missing JWT".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(value: &str) -> Result<Found, JwtError> {
        let req = Request::builder().header("Authorization", value).finish();
        let config = JwtConfig::default();
        let settings = Settings::resolve(&config).expect("default settings");
        from_headers(&req, &settings, &config)
    }

    /// The one-pass reading of the common header gives what the full rules give, for any header
    /// value and header type (or leaves it to them).
    mod single_token_agrees {
        use super::*;
        use proptest::prelude::*;

        /// A request with `value` as its `Authorization` header, and a config of header type
        /// `kind` (`None` when either is not valid).
        fn with_header(value: &[u8], kind: &str) -> Option<(Request, JwtConfig, Settings)> {
            let value = poem::http::HeaderValue::from_bytes(value).ok()?;
            let req = Request::builder().header("Authorization", value).finish();
            let config = JwtConfig {
                header_type: kind.to_string(),
                ..JwtConfig::default()
            };
            let settings = Settings::resolve(&config).ok()?;
            Some((req, config, settings))
        }

        fn both(value: &[u8], kind: &str) -> Option<(String, String)> {
            let (req, config, settings) = with_header(value, kind)?;
            Some((
                token(from_headers(&req, &settings, &config)),
                token(from_headers_in_full(
                    &req,
                    &settings,
                    &config,
                    &config.header_type,
                )),
            ))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]
            #[test]
            fn with_any_value(
                value in "(Bearer|Basic|bearer|JWT| |  |,|\\t|a|b\\.c|-|_|=|\\x7f|é){0,8}",
                kind in "(Bearer|JWT|Bearer |,Bearer|B,|)",
            ) {
                if let Some((fast, full)) = both(value.as_bytes(), &kind) {
                    prop_assert_eq!(fast, full);
                }
            }
        }

        /// What the pipeline's cache shortcut relies on: when the bytes after `<type> ` could
        /// be a cached token (non-empty, all plain), they are the token the full rules read.
        fn cache_shortcut(value: &[u8], kind: &str) -> Option<(String, String)> {
            let (req, config, settings) = with_header(value, kind)?;
            let bytes = header_token_bytes(&req, &settings, &config)?;
            (!bytes.is_empty() && all_plain(bytes)).then(|| {
                (
                    String::from_utf8_lossy(bytes).into_owned(),
                    token(from_headers_in_full(
                        &req,
                        &settings,
                        &config,
                        &config.header_type,
                    )),
                )
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]
            #[test]
            fn the_bytes_a_cache_hit_matches_are_the_token(
                value in "(Bearer|Basic|bearer|JWT| |  |,|\\t|a|b\\.c|-|_|=|\\x7f|é){0,8}",
                kind in "(Bearer|JWT|Bearer |,Bearer|B,|)",
            ) {
                if let Some((bytes, full)) = cache_shortcut(value.as_bytes(), &kind) {
                    prop_assert_eq!(bytes, full);
                }
            }
        }

        #[test]
        fn the_common_header_takes_the_short_way() {
            assert_eq!(single_token(b"Bearer a.b.c", "Bearer"), Some("a.b.c"));
            assert_eq!(single_token(b"JWT a.b.c", "JWT"), Some("a.b.c"));
            for other in [
                &b"Bearer  a.b.c"[..],
                b"Bearer a.b.c ",
                b"Bearer a.b,c",
                b"Bearer ",
                b"bearer a.b.c",
                b"Bearer\ta.b.c",
                b"Bearer a.b\x7fc",
            ] {
                assert_eq!(single_token(other, "Bearer"), None);
            }
            assert_eq!(single_token(b" a.b.c", ""), None);
        }
    }

    fn token(r: Result<Found, JwtError>) -> String {
        match r {
            Ok(Found::Token(t)) => t,
            Ok(Found::Absent(m)) => format!("absent: {m}"),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn multi_valued_headers_follow_the_reference() {
        assert_eq!(token(header("Bearer a.b.c")), "a.b.c");
        assert_eq!(token(header("Basic creds, Bearer a.b.c")), "a.b.c");
        assert_eq!(token(header("Bearer a.b.c, Basic creds")), "a.b.c");
        assert_eq!(token(header("Bearer a.b.c,   ")), "a.b.c");
        assert_eq!(token(header("Foo 1, Bearer 2, Baz, 3")), "2");
        let missing = "absent: Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'";
        assert_eq!(token(header("Basic creds")), missing);
        assert_eq!(token(header("bearer a.b.c")), missing);
        assert_eq!(token(header("Bearer a.b.c, Bearer d.e.f")), missing);
        assert_eq!(token(header("Foo 1, Bar 2, Baz, 3")), missing);
        let bad = "error: Bad Authorization header. Expected 'Authorization: Bearer <JWT>'";
        assert_eq!(token(header("Bearer")), bad);
        assert_eq!(token(header("Bearer a b")), bad);
        assert_eq!(token(header("Bearer ,,0")), bad);
        assert_eq!(token(header("Foo 1, Bearer, Baz, 3")), bad);
        assert_eq!(token(header(" , ")), "absent: Missing Authorization Header");
    }

    #[test]
    fn combined_missing_message_lists_locations_in_order() {
        let msg = missing_message(
            &[Location::Json, Location::QueryString],
            &["A".to_string(), "B".to_string()],
        );
        assert_eq!(msg, "Missing JWT in json or query_string (A; B)");
        let msg = missing_message(
            &[Location::Headers, Location::Cookies, Location::QueryString],
            &["A".into(), "B".into(), "C".into()],
        );
        assert_eq!(
            msg,
            "Missing JWT in headers, cookies or query_string (A; B; C)"
        );
    }
}
