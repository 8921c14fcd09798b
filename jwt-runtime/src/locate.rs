//! Finding the token in the request: each location's extractor and the precedence rules.
//!
//! Each extractor answers `Found`, `Absent(reason)` or a hard error. Only an absent token moves on
//! to the next location; a present-but-bad carrier fails at once (the reference's semantics).

use std::fmt;

use poem::Request;

use crate::config::JwtConfig;
use crate::error::{ConfigError, JwtError};

/// Where a token can be carried. The order of a location list is its precedence.
///
/// ```
/// use jwt_runtime::Location;
/// assert_eq!("query_string".parse::<Location>().unwrap(), Location::QueryString);
/// assert_eq!(Location::Headers.as_str(), "headers");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Location {
    /// `Authorization: Bearer <JWT>` (`JWT_HEADER_NAME`, `JWT_HEADER_TYPE`).
    Headers,
    /// The access or refresh cookie, with CSRF double submit. Not available yet.
    Cookies,
    /// `?jwt=<JWT>` (`JWT_QUERY_STRING_NAME`, `JWT_QUERY_STRING_VALUE_PREFIX`).
    QueryString,
    /// A key of a JSON body. Not available yet.
    Json,
}

impl Location {
    /// The reference's name of the location.
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Headers => "headers",
            Location::Cookies => "cookies",
            Location::QueryString => "query_string",
            Location::Json => "json",
        }
    }

    /// Whether this build can read tokens from the location.
    pub fn is_available(self) -> bool {
        matches!(self, Location::Headers | Location::QueryString)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Location {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "headers" => Ok(Location::Headers),
            "cookies" => Ok(Location::Cookies),
            "query_string" => Ok(Location::QueryString),
            "json" => Ok(Location::Json),
            _ => Err(ConfigError::new(
                "JWT_TOKEN_LOCATION can only contain \"headers\", \"cookies\", \"query_string\", or \"json\"",
            )),
        }
    }
}

/// What one location found.
pub(crate) enum Found {
    Token(String),
    Absent(String),
}

/// Python's `str.split()`: runs of whitespace separate, no empty parts.
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split_whitespace()
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
pub(crate) fn from_headers(req: &Request, config: &JwtConfig) -> Result<Found, JwtError> {
    let name = &config.header_name;
    let value = match req.headers().get(name.as_str()).map(|v| v.to_str()) {
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
    let kind = &config.header_type;
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
        .filter(|entry| words(entry).next() == Some(kind.as_str()))
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

/// Tries each location in order; returns the token and where it was found, or the reference's
/// "missing" message (the single location's own, or the combined one).
pub(crate) fn locate(
    req: &Request,
    config: &JwtConfig,
    locations: &[Location],
) -> Result<Result<(String, Location), String>, JwtError> {
    let mut reasons = Vec::with_capacity(locations.len());
    for &location in locations {
        let found = match location {
            Location::Headers => from_headers(req, config)?,
            Location::QueryString => from_query_string(req, config)?,
            Location::Cookies | Location::Json => {
                return Err(JwtError::Misconfigured(
                    format!("the \"{location}\" token location is not available yet").into(),
                ))
            }
        };
        match found {
            Found::Token(token) => return Ok(Ok((token, location))),
            Found::Absent(reason) => reasons.push(reason),
        }
    }
    Ok(Err(missing_message(locations, &reasons)))
}

fn missing_message(locations: &[Location], reasons: &[String]) -> String {
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
        from_headers(&req, &JwtConfig::default())
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
