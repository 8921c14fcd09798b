//! A remote JWK set (feature `remote-jwks`): an identity provider's keys, fetched over HTTPS when
//! the manager is built (`JWT_DECODE_JWKS_URL`, or the `jwks_uri` of
//! `JWT_DECODE_ISSUER_DISCOVERY`), kept as the last good set, refreshed in the background
//! (`Cache-Control: max-age` clamped to `JWT_JWKS_REFRESH_MIN`..`JWT_JWKS_REFRESH_MAX`), and
//! refetched when a token names an unknown `kid`: at most once per `JWT_JWKS_REFETCH_INTERVAL`,
//! one fetch shared by the requests that wait for it, within `JWT_JWKS_TIMEOUT`. That refetch is
//! the only network wait a request can have; a provider that is down leaves the last good set
//! serving. A key a fetch no longer lists leaves the set for good
//! ([`InSet`](super::keys::InSet)): the tokens it verified are refused from then on, also those
//! the verified-token cache holds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::keys::{allowed_algorithms, non_empty, remote_key_set, DecodeKey, RemoteKeys};
use crate::config::JwtConfig;
use crate::vocabulary::ConfigError;

/// Startup and background fetches get at least this long.
const BACKGROUND_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP side: the client (redirects only to `https` unless allowed), the size cap.
struct Fetcher {
    client: reqwest::Client,
    max_bytes: usize,
    allow_http: bool,
}

/// A fetched document and its `Cache-Control` lifetime.
struct Fetched {
    body: Vec<u8>,
    max_age: Option<u64>,
}

/// An error and its causes, one line ("error sending request: connection refused").
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

fn cause(error: reqwest::Error) -> String {
    chain(&error.without_url())
}

/// `max-age` of a `Cache-Control` header; `no-cache` and `no-store` count as 0.
fn max_age(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let value = headers.get(reqwest::header::CACHE_CONTROL)?.to_str().ok()?;
    let mut found = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(0);
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            found = seconds.trim_matches('"').parse().ok().or(found);
        }
    }
    found
}

impl Fetcher {
    fn new(config: &JwtConfig, option: &str) -> Result<Self, ConfigError> {
        let allow_http = config.jwks_allow_http;
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if attempt.url().scheme() != "https" && !allow_http {
                attempt.error("redirected to a URL that is not https")
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .redirect(policy)
            .user_agent(concat!("jwt-runtime/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConfigError::new(
                    option.to_string(),
                    format!("cannot make an HTTP client: {}", cause(e)),
                )
            })?;
        Ok(Fetcher {
            client,
            max_bytes: config.jwks_max_bytes,
            allow_http,
        })
    }

    /// Only `https`, unless `JWT_JWKS_ALLOW_HTTP` (then `http` too).
    fn check_url(&self, option: &str, url: &str) -> Result<(), ConfigError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| {
            ConfigError::new(option.to_string(), format!("\"{url}\" is not a URL: {e}"))
        })?;
        match parsed.scheme() {
            "https" => Ok(()),
            "http" if self.allow_http => Ok(()),
            "http" => Err(ConfigError::new(
                option.to_string(),
                format!(
                    "\"{url}\" is not https; keys are fetched over https only (JWT_JWKS_ALLOW_HTTP \
                     allows http, for tests and a loopback provider)"
                ),
            )),
            other => Err(ConfigError::new(
                option.to_string(),
                format!("\"{url}\" has the scheme \"{other}\"; keys are fetched over https only"),
            )),
        }
    }

    async fn get(&self, url: &str, timeout: Duration) -> Result<Fetched, String> {
        let too_big = || format!("the response is larger than {} bytes", self.max_bytes);
        let work = async {
            let mut response = self
                .client
                .get(url)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .map_err(cause)?;
            if !response.status().is_success() {
                return Err(format!("HTTP status {}", response.status()));
            }
            if response
                .content_length()
                .is_some_and(|n| n > self.max_bytes as u64)
            {
                return Err(too_big());
            }
            let max_age = max_age(response.headers());
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(cause)? {
                if body.len() + chunk.len() > self.max_bytes {
                    return Err(too_big());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Fetched { body, max_age })
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| format!("no complete answer within {timeout:?}"))?
    }
}

/// Reads `<issuer>/.well-known/openid-configuration`: its `issuer` must be the configured one
/// exactly (OpenID Connect Discovery §4.3); gives its `jwks_uri`.
async fn discover(fetcher: &Fetcher, issuer: &str, option: &str) -> Result<String, ConfigError> {
    fetcher.check_url(option, issuer)?;
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let bad =
        |why: String| ConfigError::new(option.to_string(), format!("discovery at {url}: {why}"));
    let fetched = fetcher
        .get(&url, BACKGROUND_TIMEOUT)
        .await
        .map_err(|why| bad(format!("cannot fetch the document: {why}")))?;
    let doc: Value = serde_json::from_slice(&fetched.body)
        .map_err(|e| bad(format!("the response is not JSON: {e}")))?;
    let found = doc
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("the document has no \"issuer\"".into()))?;
    if found != issuer {
        return Err(bad(format!(
            "the document names the issuer \"{found}\", not \"{issuer}\""
        )));
    }
    let jwks_uri = doc
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("the document has no \"jwks_uri\"".into()))?;
    fetcher.check_url(option, jwks_uri)?;
    Ok(jwks_uri.to_string())
}

/// The remote key set (named by `option`) names the audience its tokens must be issued to, or
/// opts out explicitly: a provider signs tokens for all its clients, and without the check a
/// token issued to any other of them would open this API (RFC 8725 section 3.9).
fn check_audience(config: &JwtConfig, option: &str) -> Result<(), ConfigError> {
    let audiences = config.decode_audience.as_deref().unwrap_or_default();
    match (audiences.is_empty(), config.decode_any_audience) {
        (true, false) => Err(ConfigError::sentence(
            "JWT_DECODE_AUDIENCE",
            format!(
                "must be set when tokens are verified with a remote key set ({option}): this \
                 API's client id at the provider; or set JWT_DECODE_ANY_AUDIENCE if every token \
                 the provider signs is meant for this API (without an audience, a token it issued \
                 to any other client is accepted here: RFC 8725 section 3.9)"
            ),
        )),
        (false, true) => Err(ConfigError::sentence(
            "JWT_DECODE_ANY_AUDIENCE",
            "is set together with JWT_DECODE_AUDIENCE: keep one",
        )),
        _ if audiences.iter().any(|a| a.trim().is_empty()) => Err(ConfigError::sentence(
            "JWT_DECODE_AUDIENCE",
            "has an empty audience",
        )),
        _ => Ok(()),
    }
}

/// The checks of the options every remote key set uses.
pub(crate) fn check_options(config: &JwtConfig, option: &str) -> Result<(), ConfigError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(ConfigError::sentence(
            option.to_string(),
            "needs a Tokio runtime: call build_async from within one",
        ));
    }
    if config.jwks_refresh_min == 0 {
        return Err(ConfigError::sentence(
            "JWT_JWKS_REFRESH_MIN",
            "must be at least 1 second",
        ));
    }
    if config.jwks_refresh_min > config.jwks_refresh_max {
        return Err(ConfigError::sentence(
            "JWT_JWKS_REFRESH_MIN",
            "must not exceed JWT_JWKS_REFRESH_MAX",
        ));
    }
    if config.jwks_timeout == 0 {
        return Err(ConfigError::sentence(
            "JWT_JWKS_TIMEOUT",
            "must be at least 1 second",
        ));
    }
    if config.jwks_max_bytes == 0 {
        return Err(ConfigError::sentence(
            "JWT_JWKS_MAX_BYTES",
            "must be greater than 0",
        ));
    }
    Ok(())
}

/// One provider's key set: the last good keys, the refresh task, the refetch gate.
pub(crate) struct RemoteJwks {
    url: String,
    fetcher: Fetcher,
    /// The algorithms a key published without `alg` may be bound to.
    allowed: Vec<String>,
    keys: RwLock<RemoteKeys>,
    /// Bumped whenever a new set is stored.
    generation: AtomicU64,
    /// Fetches of the JWK set made, for the logs and the tests' counters.
    fetches: AtomicU64,
    /// When the last unknown-kid refetch started; the lock is the one in-flight refetch.
    last_refetch: tokio::sync::Mutex<Option<Instant>>,
    refetch_interval: Duration,
    request_timeout: Duration,
    background_timeout: Duration,
    refresh_min: Duration,
    refresh_max: Duration,
    task: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for RemoteJwks {
    fn drop(&mut self) {
        if let Some(task) = self.task.get_mut().ok().and_then(Option::take) {
            task.abort();
        }
    }
}

impl RemoteJwks {
    /// Resolves discovery (which makes its issuer required in `config`), fetches the set and
    /// starts the background refresh. `None` when no remote set is configured.
    pub(crate) async fn start(config: &mut JwtConfig) -> Result<Option<Arc<Self>>, ConfigError> {
        let url = non_empty(&config.decode_jwks_url).map(|u| u.trim().to_string());
        let issuer = non_empty(&config.decode_issuer_discovery).map(|i| i.trim().to_string());
        let option = match (&url, &issuer) {
            (None, None) => return Ok(None),
            (Some(_), Some(_)) => {
                return Err(ConfigError::about(
                    "JWT_DECODE_JWKS_URL",
                    "set JWT_DECODE_JWKS_URL or JWT_DECODE_ISSUER_DISCOVERY, not both \
                     (discovery gives the JWK set URL)",
                ))
            }
            (Some(_), None) => "JWT_DECODE_JWKS_URL",
            (None, Some(_)) => "JWT_DECODE_ISSUER_DISCOVERY",
        };
        check_audience(config, option)?;
        check_options(config, option)?;
        let discovered = issuer.clone();
        let allowed = allowed_algorithms(config);
        let remote = Self::open(config, option, url, issuer, allowed).await?;
        if let Some(issuer) = discovered {
            match &mut config.decode_issuer {
                None => config.decode_issuer = Some(vec![issuer]),
                Some(list) if list.contains(&issuer) => {}
                Some(_) => {
                    return Err(ConfigError::sentence(
                        "JWT_DECODE_ISSUER",
                        format!("must include the discovered issuer \"{issuer}\" (or be unset)"),
                    ))
                }
            }
        }
        Ok(Some(remote))
    }

    /// Fetches one key set: from `url`, or from the `jwks_uri` that discovery of `issuer` gives;
    /// starts its background refresh. `option` names the source in errors; `allowed`: the
    /// algorithms a key published without `alg` may be bound to.
    pub(crate) async fn open(
        config: &JwtConfig,
        option: &str,
        url: Option<String>,
        issuer: Option<String>,
        allowed: Vec<String>,
    ) -> Result<Arc<Self>, ConfigError> {
        let fetcher = Fetcher::new(config, option)?;
        let url = match (url, issuer) {
            (Some(url), _) => {
                fetcher.check_url(option, &url)?;
                url
            }
            (None, Some(issuer)) => discover(&fetcher, &issuer, option).await?,
            (None, None) => {
                return Err(ConfigError::sentence(
                    option.to_string(),
                    "needs a JWK set URL or an issuer",
                ))
            }
        };
        let request_timeout = Duration::from_secs(config.jwks_timeout);
        let background_timeout = request_timeout.max(BACKGROUND_TIMEOUT);
        let fetched = fetcher.get(&url, background_timeout).await.map_err(|why| {
            ConfigError::new(
                option.to_string(),
                format!("cannot fetch the JWK set {url}: {why}"),
            )
        })?;
        let keys = remote_key_set(&fetched.body, &allowed, &url).map_err(|why| {
            ConfigError::new(
                option.to_string(),
                format!("cannot use the JWK set {url}: {why}"),
            )
        })?;
        tracing::info!(target: "jwt_runtime", url = %url, keys = keys.len(), "remote JWK set fetched");
        let remote = Arc::new(RemoteJwks {
            url,
            fetcher,
            allowed,
            keys: RwLock::new(Arc::new(keys)),
            generation: AtomicU64::new(0),
            fetches: AtomicU64::new(1),
            last_refetch: tokio::sync::Mutex::new(None),
            refetch_interval: Duration::from_secs(config.jwks_refetch_interval),
            request_timeout,
            background_timeout,
            refresh_min: Duration::from_secs(config.jwks_refresh_min),
            refresh_max: Duration::from_secs(config.jwks_refresh_max),
            task: Mutex::new(None),
        });
        remote.spawn_refresh(remote.next_refresh(fetched.max_age));
        Ok(remote)
    }

    /// The background refresh. It holds the set weakly: dropping the last manager ends it
    /// (and `Drop` aborts it at once).
    fn spawn_refresh(self: &Arc<Self>, first: Duration) {
        let weak = Arc::downgrade(self);
        let task = tokio::spawn(async move {
            let mut delay = first;
            loop {
                tokio::time::sleep(delay).await;
                let Some(remote) = weak.upgrade() else {
                    return;
                };
                delay = remote.refresh().await;
            }
        });
        if let Ok(mut slot) = self.task.lock() {
            *slot = Some(task.abort_handle());
        }
    }

    fn next_refresh(&self, max_age: Option<u64>) -> Duration {
        max_age
            .map(Duration::from_secs)
            .unwrap_or(self.refresh_min)
            .clamp(self.refresh_min, self.refresh_max)
    }

    /// One background refresh; gives the delay until the next.
    async fn refresh(&self) -> Duration {
        match self.fetch(self.background_timeout).await {
            Ok(max_age) => self.next_refresh(max_age),
            Err(why) => {
                tracing::warn!(
                    target: "jwt_runtime",
                    url = %self.url,
                    "refreshing the remote JWK set failed ({why}); the last good set keeps \
                     serving, next try in {:?}",
                    self.refresh_min
                );
                self.refresh_min
            }
        }
    }

    /// Fetches and stores the set; a failure keeps the last good one.
    async fn fetch(&self, timeout: Duration) -> Result<Option<u64>, String> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = self.fetcher.get(&self.url, timeout).await?;
        let keys = remote_key_set(&fetched.body, &self.allowed, &self.url)?;
        tracing::debug!(target: "jwt_runtime", url = %self.url, keys = keys.len(), "remote JWK set refreshed");
        self.store(keys);
        Ok(fetched.max_age)
    }

    /// Makes `fetched` the current set. A key it lists again (same `kid`, algorithm and JWK) is
    /// kept as it was, with its verifier and the tokens it verified; every key it no longer lists
    /// leaves ([`InSet::leave`](super::keys::InSet::leave)), so each token that key verified is
    /// refused from now on, cached or not.
    fn store(&self, fetched: Vec<DecodeKey>) {
        let mut current = self.keys.write().unwrap_or_else(|p| p.into_inner());
        let keys: Vec<DecodeKey> = fetched
            .into_iter()
            .map(|key| {
                current
                    .iter()
                    .find(|old| old.is_refetch_of(&key))
                    .cloned()
                    .unwrap_or(key)
            })
            .collect();
        for old in current.iter() {
            if !keys.iter().any(|key| key.in_set.same(&old.in_set)) {
                old.in_set.leave();
            }
        }
        *current = Arc::new(keys);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The last good set.
    pub(crate) fn current(&self) -> RemoteKeys {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the current set has a key named `kid`.
    pub(crate) fn has_kid(&self, kid: &str) -> bool {
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The set for a token naming `kid`: the current one when it has `kid`; otherwise the set
    /// after one refetch, unless a refetch started less than `JWT_JWKS_REFETCH_INTERVAL` ago.
    /// Concurrent callers share one in-flight refetch (they wait on its lock, at most
    /// `JWT_JWKS_TIMEOUT`, and then find the set it stored).
    pub(crate) async fn keys_for_kid(&self, kid: &str) -> RemoteKeys {
        let current = self.current();
        if current.iter().any(|k| k.kid.as_deref() == Some(kid)) {
            return current;
        }
        let seen = self.generation.load(Ordering::SeqCst);
        let mut last = self.last_refetch.lock().await;
        if self.generation.load(Ordering::SeqCst) != seen {
            return self.current();
        }
        if last.is_some_and(|at| at.elapsed() < self.refetch_interval) {
            return self.current();
        }
        *last = Some(Instant::now());
        if let Err(why) = self.fetch(self.request_timeout).await {
            tracing::warn!(
                target: "jwt_runtime",
                url = %self.url,
                "refetching the remote JWK set for an unknown kid failed ({why}); the last good \
                 set keeps serving"
            );
        }
        self.current()
    }
}

impl std::fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("url", &self.url)
            .field("keys", &self.current().len())
            .field("fetches", &self.fetches.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, CACHE_CONTROL};

    fn cache_control(value: &str) -> Option<u64> {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        max_age(&headers)
    }

    #[test]
    fn cache_control_max_age() {
        assert_eq!(max_age(&HeaderMap::new()), None);
        assert_eq!(cache_control("public, max-age=3600"), Some(3600));
        assert_eq!(cache_control("Max-Age=60, must-revalidate"), Some(60));
        assert_eq!(cache_control("max-age=\"120\""), Some(120));
        assert_eq!(cache_control("no-cache"), Some(0));
        assert_eq!(cache_control("max-age=600, no-store"), Some(0));
        assert_eq!(cache_control("max-age=soon"), None);
        assert_eq!(cache_control("private"), None);
    }
}
