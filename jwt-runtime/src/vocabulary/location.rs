//! [`Location`]: where a token can be carried.

use std::fmt;

use super::ConfigError;

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
    /// The access or refresh cookie, with CSRF double submit (`JWT_*_COOKIE_NAME`, `JWT_CSRF_*`).
    Cookies,
    /// `?jwt=<JWT>` (`JWT_QUERY_STRING_NAME`, `JWT_QUERY_STRING_VALUE_PREFIX`).
    QueryString,
    /// A key of a JSON body (`JWT_JSON_KEY`, `JWT_REFRESH_JSON_KEY`).
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
            _ => Err(ConfigError::sentence(
                "JWT_TOKEN_LOCATION",
                "can only contain \"headers\", \"cookies\", \"query_string\", or \"json\"",
            )),
        }
    }
}

impl Location {
    /// Every location, in the order of the reference's messages.
    pub const ALL: [Location; 4] = [
        Location::Headers,
        Location::Cookies,
        Location::QueryString,
        Location::Json,
    ];
}
