//! Speaking OAuth to clients as a resource server, resolved once from the config: the RFC 6750
//! challenge's fixed parts (`JWT_BEARER_CHALLENGE`, `JWT_BEARER_REALM`) and the RFC 9728
//! protected-resource metadata (`JWT_RESOURCE`, `JWT_AUTHORIZATION_SERVERS`,
//! `JWT_SCOPES_SUPPORTED`, `JWT_RESOURCE_DOCUMENTATION`): the document, where it is served and
//! the URL the challenge points at. [`respond`](super::respond) writes the challenges.

use serde_json::{json, Value};

use crate::config::JwtConfig;
use crate::vocabulary::{ConfigError, Location};

/// The well-known path of RFC 9728 §3.1.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The resource-server settings of a manager.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResourceServer {
    /// The challenge's parameters that do not depend on the refusal (`realm="..."`,
    /// `resource_metadata="..."`), each written `name="value"`; `None`: no challenges.
    pub(crate) challenge: Option<ChallengeParams>,
    /// The metadata document and where it is served, when `JWT_RESOURCE` is set.
    pub(crate) metadata: Option<Metadata>,
}

/// The fixed parameters of every challenge.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChallengeParams {
    /// `realm="..."`, first when set.
    pub(crate) realm: Option<String>,
    /// `resource_metadata="..."`, last when set.
    pub(crate) resource_metadata: Option<String>,
}

/// The RFC 9728 document of this resource.
#[derive(Debug, Clone)]
pub(crate) struct Metadata {
    /// The path on this server (`/.well-known/oauth-protected-resource/<resource path>`).
    pub(crate) path: String,
    /// The JSON document, serialized once.
    pub(crate) document: String,
}

impl ResourceServer {
    /// Resolves and checks the options.
    pub(crate) fn resolve(config: &JwtConfig) -> Result<Self, ConfigError> {
        let metadata = match non_empty(&config.resource) {
            Some(resource) => Some(metadata(config, resource)?),
            None => {
                if !config.authorization_servers.is_empty() {
                    return Err(needs_resource("JWT_AUTHORIZATION_SERVERS"));
                }
                if !config.scopes_supported.is_empty() {
                    return Err(needs_resource("JWT_SCOPES_SUPPORTED"));
                }
                if non_empty(&config.resource_documentation).is_some() {
                    return Err(needs_resource("JWT_RESOURCE_DOCUMENTATION"));
                }
                None
            }
        };
        let challenge = if config.bearer_challenge {
            let realm = match non_empty(&config.bearer_realm) {
                Some(realm) => {
                    if realm.chars().any(|c| c.is_control()) {
                        return Err(ConfigError::new(
                            "JWT_BEARER_REALM",
                            "a realm cannot hold control characters (it is a header value)",
                        ));
                    }
                    Some(realm.to_string())
                }
                None => None,
            };
            let resource_metadata = match (&metadata, non_empty(&config.resource)) {
                (Some(m), Some(resource)) => Some(format!("{}{}", origin(resource), m.path)),
                _ => None,
            };
            Some(ChallengeParams {
                realm,
                resource_metadata,
            })
        } else {
            if non_empty(&config.bearer_realm).is_some() {
                return Err(ConfigError::new(
                    "JWT_BEARER_REALM",
                    "the realm is part of the challenge: set JWT_BEARER_CHALLENGE too",
                ));
            }
            None
        };
        Ok(ResourceServer {
            challenge,
            metadata,
        })
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn needs_resource(option: &'static str) -> ConfigError {
    ConfigError::new(
        option,
        "is part of the protected-resource metadata (RFC 9728), which needs JWT_RESOURCE (this \
         resource's identifier, an https URL)",
    )
}

/// Whether `host` (without a port) is a loopback name, where plain http is allowed.
fn is_loopback(host: &str) -> bool {
    let host = match host.rfind(':') {
        Some(i) if !host.ends_with(']') => &host[..i],
        _ => host,
    };
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// Splits an absolute `http(s)` URL into (scheme and authority, the rest), checking it is one
/// this resource can name: https (or http on a loopback host), a host, no fragment, nothing a
/// header value or a JSON reader would stumble on.
fn split_url<'a>(option: &'static str, url: &'a str) -> Result<(&'a str, &'a str), ConfigError> {
    let bad = |why: &str| ConfigError::new(option, format!("\"{url}\" {why}"));
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\')
    {
        return Err(bad("holds whitespace, a quote or a backslash"));
    }
    if url.contains('#') {
        return Err(bad(
            "has a fragment; a resource identifier has none (RFC 9728)",
        ));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("is not an absolute URL"))?;
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("has no host (or has user information)"));
    }
    match scheme {
        "https" => {}
        "http" if is_loopback(authority) => {}
        _ => return Err(bad("must use https (http only on a loopback host)")),
    }
    let split = scheme.len() + "://".len() + authority_end;
    Ok((&url[..split], &url[split..]))
}

/// `https://host` of a checked resource URL.
fn origin(resource: &str) -> &str {
    split_url("JWT_RESOURCE", resource).map_or(resource, |(origin, _)| origin)
}

/// The document's path for `resource` (RFC 9728 §3.1): the well-known path inserted between the
/// host and the resource's path and query, a lone `/` path dropped.
fn metadata_path(rest: &str) -> String {
    let rest = rest.strip_prefix('/').map_or(rest, |r| r);
    match rest {
        "" => WELL_KNOWN.to_string(),
        r if r.starts_with('?') => format!("{WELL_KNOWN}{r}"),
        r => format!("{WELL_KNOWN}/{r}"),
    }
}

/// How a client may send tokens here, in RFC 6750's words: `header` for
/// `Authorization: Bearer`, `query` for an `access_token` query parameter.
fn bearer_methods(config: &JwtConfig) -> Vec<&'static str> {
    let locations = &config.token_location;
    let mut methods = Vec::new();
    if locations.iter().any(|l| l == Location::Headers.as_str())
        && config.header_name.eq_ignore_ascii_case("Authorization")
        && config.header_type == "Bearer"
    {
        methods.push("header");
    }
    if locations
        .iter()
        .any(|l| l == Location::QueryString.as_str())
        && config.query_string_name == "access_token"
        && config.query_string_value_prefix.is_empty()
    {
        methods.push("query");
    }
    methods
}

fn metadata(config: &JwtConfig, resource: &str) -> Result<Metadata, ConfigError> {
    let (_, rest) = split_url("JWT_RESOURCE", resource)?;
    for server in &config.authorization_servers {
        split_url("JWT_AUTHORIZATION_SERVERS", server)?;
    }
    let documentation = non_empty(&config.resource_documentation);
    if let Some(url) = documentation {
        split_url("JWT_RESOURCE_DOCUMENTATION", url)?;
    }
    for scope in &config.scopes_supported {
        if scope.is_empty()
            || scope
                .chars()
                .any(|c| !matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E'))
        {
            return Err(ConfigError::new(
                "JWT_SCOPES_SUPPORTED",
                format!(
                    "\"{scope}\" is not an OAuth scope name (printable ASCII except space, '\"' \
                     and '\\')"
                ),
            ));
        }
    }
    let mut document = serde_json::Map::new();
    document.insert("resource".into(), resource.into());
    if !config.authorization_servers.is_empty() {
        document.insert(
            "authorization_servers".into(),
            json!(config.authorization_servers),
        );
    }
    if !config.scopes_supported.is_empty() {
        document.insert("scopes_supported".into(), json!(config.scopes_supported));
    }
    document.insert(
        "bearer_methods_supported".into(),
        json!(bearer_methods(config)),
    );
    if let Some(url) = documentation {
        document.insert("resource_documentation".into(), url.into());
    }
    Ok(Metadata {
        path: metadata_path(rest),
        document: Value::Object(document).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_path_follows_rfc_9728() {
        let path = |url: &str| metadata_path(split_url("JWT_RESOURCE", url).unwrap().1);
        assert_eq!(path("https://a.example"), WELL_KNOWN);
        assert_eq!(path("https://a.example/"), WELL_KNOWN);
        assert_eq!(path("https://a.example/api"), format!("{WELL_KNOWN}/api"));
        assert_eq!(path("https://a.example/api/"), format!("{WELL_KNOWN}/api/"));
        assert_eq!(path("https://a.example?x=1"), format!("{WELL_KNOWN}?x=1"));
        assert_eq!(
            origin("https://a.example:8443/api"),
            "https://a.example:8443"
        );
    }

    #[test]
    fn resource_urls_are_checked() {
        let ok = |url: &str| split_url("JWT_RESOURCE", url).is_ok();
        assert!(ok("https://a.example/x") && ok("http://localhost:3000") && ok("http://[::1]:80"));
        assert!(!ok("http://a.example") && !ok("ftp://a.example") && !ok("a.example"));
        assert!(!ok("https://") && !ok("https://u@a.example") && !ok("https://a.example/#f"));
        assert!(!ok("https://a.example/\"") && !ok("https://a.example/ x"));
    }
}
