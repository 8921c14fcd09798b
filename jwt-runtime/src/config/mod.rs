//! Layer 1, configuration: [`JwtConfig`], every `JWT_*` option of flask-jwt-extended with the
//! reference's defaults, as plain data (loading from the environment is in `env`).
//!
//! Options are plain fields. Build the config in code, deserialize it with serde (field names are
//! the option names in snake case without the `JWT_` prefix), or read it from the environment with
//! [`JwtConfig::from_env`] (the reference's `JWT_*` names). Nothing is validated here: the checks run
//! once, when the [`JwtManager`](crate::JwtManager) is built, so a bad value is a startup error and
//! never a per-request 500.

mod env;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::vocabulary::{DpopMode, Expiry};

/// Every option of flask-jwt-extended (its 43 `JWT_*` settings) plus this port's own limits.
///
/// The defaults are the reference's; the options marked "(this port)" are additions.
///
/// ```
/// use jwt_runtime::{JwtConfig, Expiry};
/// let config = JwtConfig {
///     secret_key: Some("a-long-random-secret-of-at-least-32-bytes!".into()),
///     access_token_expires: Expiry::minutes(5),
///     ..JwtConfig::default()
/// };
/// assert_eq!(config.header_type, "Bearer");
/// ```
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct JwtConfig {
    /// `JWT_ACCESS_TOKEN_EXPIRES`: lifetime of access tokens: seconds, a duration like `15m`, or `false` (never expire).
    pub access_token_expires: Expiry,
    /// `JWT_REFRESH_TOKEN_EXPIRES`: lifetime of refresh tokens, same forms.
    pub refresh_token_expires: Expiry,
    /// `JWT_ALGORITHM`: the signing algorithm (HS256/384/512, RS*, PS*, ES256/384, EdDSA).
    pub algorithm: String,
    /// `JWT_DECODE_ALGORITHMS`: algorithms accepted when verifying; `JWT_ALGORITHM` is always added.
    pub decode_algorithms: Option<Vec<String>>,
    /// `JWT_SECRET_KEY`: the HMAC secret for HS* algorithms; never logged; empty refuses startup.
    #[serde(skip_serializing)]
    pub secret_key: Option<String>,
    /// `JWT_PRIVATE_KEY`: PEM private key for signing with RS*/PS*/ES*/EdDSA; never logged.
    #[serde(skip_serializing)]
    pub private_key: Option<String>,
    /// `JWT_PUBLIC_KEY`: PEM public key for verifying RS*/PS*/ES*/EdDSA tokens.
    pub public_key: Option<String>,
    /// `JWT_TOKEN_LOCATION`: where tokens are looked for, in order: `headers`, `cookies`, `query_string`, `json`.
    pub token_location: Vec<String>,
    /// `JWT_HEADER_NAME`: the request header carrying the token.
    pub header_name: String,
    /// `JWT_HEADER_TYPE`: the scheme word before the token; empty means the header holds the bare token.
    pub header_type: String,
    /// `JWT_QUERY_STRING_NAME`: the query parameter carrying the token.
    pub query_string_name: String,
    /// `JWT_QUERY_STRING_VALUE_PREFIX`: a prefix the query value must start with (e.g. `Bearer `).
    pub query_string_value_prefix: String,
    /// `JWT_JSON_KEY`: the JSON body key of access tokens.
    pub json_key: String,
    /// `JWT_REFRESH_JSON_KEY`: the JSON body key of refresh tokens.
    pub refresh_json_key: String,
    /// `JWT_IDENTITY_CLAIM`: the claim holding the identity; required in every token.
    pub identity_claim: String,
    /// `JWT_ERROR_MESSAGE_KEY`: the key of every default error body (`{"msg": ...}`).
    pub error_message_key: String,
    /// `JWT_ENCODE_AUDIENCE`: written as `aud` into new tokens when set (a string, or a list).
    #[serde(deserialize_with = "one_or_many")]
    pub encode_audience: Option<Vec<String>>,
    /// `JWT_DECODE_AUDIENCE`: when set (a string or a list), tokens must carry an `aud` that intersects it.
    #[serde(deserialize_with = "one_or_many")]
    pub decode_audience: Option<Vec<String>>,
    /// `JWT_ENCODE_ISSUER`: written as `iss` into new tokens when set.
    pub encode_issuer: Option<String>,
    /// `JWT_DECODE_ISSUER`: when set (a string or a list), tokens must carry one of these `iss`, compared exactly.
    #[serde(deserialize_with = "one_or_many")]
    pub decode_issuer: Option<Vec<String>>,
    /// `JWT_DECODE_LEEWAY`: seconds of clock skew allowed on `exp`, `nbf` and `iat`.
    pub decode_leeway: u64,
    /// `JWT_VERIFY_SUB`: `sub` must be a string.
    pub verify_sub: bool,
    /// `JWT_ENCODE_NBF`: new tokens carry `nbf = iat`.
    pub encode_nbf: bool,
    /// `JWT_ACCESS_COOKIE_NAME`: the cookie holding access tokens.
    pub access_cookie_name: String,
    /// `JWT_REFRESH_COOKIE_NAME`: the cookie holding refresh tokens.
    pub refresh_cookie_name: String,
    /// `JWT_ACCESS_COOKIE_PATH`: `Path` of the access cookie.
    pub access_cookie_path: String,
    /// `JWT_REFRESH_COOKIE_PATH`: `Path` of the refresh cookie.
    pub refresh_cookie_path: String,
    /// `JWT_COOKIE_SECURE`: adds `Secure` to every cookie (set it in production).
    pub cookie_secure: bool,
    /// `JWT_COOKIE_DOMAIN`: the cookies' `Domain` (a per-call `CookieOptions::domain` overrides it).
    pub cookie_domain: Option<String>,
    /// `JWT_COOKIE_SAMESITE`: `None`, `Lax` or `Strict`; unset omits the attribute; `None` requires `Secure`.
    pub cookie_samesite: Option<String>,
    /// `JWT_SESSION_COOKIE`: `true`: session cookies; `false`: `Max-Age=31540000` and `Expires`.
    pub session_cookie: bool,
    /// `JWT_COOKIE_CSRF_PROTECT`: CSRF double submit for cookie tokens; also whether tokens carry a `csrf` claim.
    pub cookie_csrf_protect: bool,
    /// `JWT_CSRF_METHODS`: request methods that need the CSRF value with a cookie token.
    pub csrf_methods: Vec<String>,
    /// `JWT_CSRF_IN_COOKIES`: `set_*_cookies` also sets the readable CSRF cookie.
    pub csrf_in_cookies: bool,
    /// `JWT_CSRF_CHECK_FORM`: also accept the CSRF value from an urlencoded form field.
    pub csrf_check_form: bool,
    /// `JWT_ACCESS_CSRF_COOKIE_NAME`: the readable CSRF cookie of access tokens.
    pub access_csrf_cookie_name: String,
    /// `JWT_REFRESH_CSRF_COOKIE_NAME`: the readable CSRF cookie of refresh tokens.
    pub refresh_csrf_cookie_name: String,
    /// `JWT_ACCESS_CSRF_COOKIE_PATH`: `Path` of the access CSRF cookie.
    pub access_csrf_cookie_path: String,
    /// `JWT_REFRESH_CSRF_COOKIE_PATH`: `Path` of the refresh CSRF cookie.
    pub refresh_csrf_cookie_path: String,
    /// `JWT_ACCESS_CSRF_HEADER_NAME`: the header carrying the CSRF value for access tokens.
    pub access_csrf_header_name: String,
    /// `JWT_REFRESH_CSRF_HEADER_NAME`: the header carrying the CSRF value for refresh tokens.
    pub refresh_csrf_header_name: String,
    /// `JWT_ACCESS_CSRF_FIELD_NAME`: the form field carrying the CSRF value for access tokens.
    pub access_csrf_field_name: String,
    /// `JWT_REFRESH_CSRF_FIELD_NAME`: the form field carrying the CSRF value for refresh tokens.
    pub refresh_csrf_field_name: String,
    /// `JWT_MAX_TOKEN_LENGTH` (this port): longer tokens are refused (422) before any decoding work.
    pub max_token_length: usize,
    /// `JWT_JSON_BODY_LIMIT` (this port): the most of a body read to find a JSON token or CSRF field; larger bodies get 413.
    pub json_body_limit: usize,
    /// `JWT_IMPLICIT_REFRESH_WINDOW` (this port): replace a cookie access token expiring within this many seconds (`30m` works) on the same response.
    pub implicit_refresh_window: Option<u64>,
    /// `JWT_REFRESH_ROTATION` (this port, default off): each use of a refresh token on a refresh route mints a new refresh token of the same session and retires the used one; presenting a retired one again revokes the whole session (reuse detection). Needs a store that keeps sessions (all three provided ones do).
    pub refresh_rotation: bool,
    /// `JWT_REFRESH_ROTATION_GRACE` (this port, default 10 s; `30s` works): for how many seconds after a rotation the refresh token it retired is still exchanged on a refresh route for the same replacement even once that replacement was presented (`0`: never). Until the replacement is presented (a lost response, a failed handler, concurrent tabs), the retired token is exchanged for it whatever the time.
    pub refresh_rotation_grace: u64,
    /// `JWT_ENCODE_KID` (this port): the `kid` header written into new tokens.
    pub encode_kid: Option<String>,
    /// `JWT_DECODE_KEYS` (this port): extra verification keys selected by the token's `kid` (JSON list of `{kid, algorithm, public_key or secret}`).
    pub decode_keys: Vec<DecodeKeyConfig>,
    /// `JWT_DECODE_JWKS` (this port): a JWK set (JSON) of public verification keys, each with `kid` and `alg`.
    pub decode_jwks: Option<String>,
    /// `JWT_DECODE_JWKS_URL` (this port, feature `remote-jwks`): an `https` URL of a JWK set (an identity provider's `jwks_uri`), fetched at startup, cached, refreshed in the background and refetched (rate-limited) for an unknown `kid`. Needs `JwtManagerBuilder::build_async`.
    pub decode_jwks_url: Option<String>,
    /// `JWT_DECODE_ISSUER_DISCOVERY` (this port, feature `remote-jwks`): an OIDC issuer URL; its `/.well-known/openid-configuration` gives the `jwks_uri`, and tokens must carry that `iss`. Needs `JwtManagerBuilder::build_async`.
    pub decode_issuer_discovery: Option<String>,
    /// `JWT_DECODE_ANY_AUDIENCE` (this port, feature `remote-jwks`): accept the tokens of the remote key set (`JWT_DECODE_JWKS_URL`, `JWT_DECODE_ISSUER_DISCOVERY`) whatever their `aud`. Without it such a set needs `JWT_DECODE_AUDIENCE` (this API's client id at the provider): a provider signs tokens for all its clients, and a token it issued to any other of them would open this API too (RFC 8725 section 3.9). Only for a provider whose every token is meant for this API; not together with `JWT_DECODE_AUDIENCE`. The remote set's counterpart of [`TrustedIssuer::any_audience`].
    pub decode_any_audience: bool,
    /// `JWT_DECODE_TRUST_APP_CLAIMS` (this port, feature `remote-jwks`): let the remote key set's tokens satisfy this app's own claim policies: the admin claim of `#[admin_required]`, `fresh`, and `type: refresh` (refresh-only routes). Off by default: a provider's token is never fresh, never an administrator and never a refresh token here, whatever it claims. The remote set's counterpart of [`TrustedIssuer::trust_app_claims`].
    pub decode_trust_app_claims: bool,
    /// `JWT_DECODE_ACCESS_TOKEN_PROFILE` (this port, feature `remote-jwks`): the remote key set's tokens must follow the JWT access-token profile of RFC 9068: header `typ` `at+jwt` (or `application/at+jwt`), and claims `client_id`, `iat` and `jti`. The remote set's counterpart of [`TrustedIssuer::access_token_profile`].
    pub decode_access_token_profile: bool,
    /// `JWT_TRUSTED_ISSUERS` (this port, feature `remote-jwks`): other issuers whose tokens are accepted, as a JSON list of [`TrustedIssuer`] objects (`[{"issuer": "https://...", "audience": "my-api"}]`); added to those of `JwtManagerBuilder::trust_issuer`.
    pub trusted_issuers: Vec<TrustedIssuer>,
    /// `JWT_JWKS_REFRESH_MIN` (this port): the shortest background refresh interval of a remote JWK set, in seconds (`5m` works); also the interval when the response has no `Cache-Control: max-age`, and the retry delay after a failed refresh.
    pub jwks_refresh_min: u64,
    /// `JWT_JWKS_REFRESH_MAX` (this port): the longest background refresh interval of a remote JWK set (a longer `max-age` is cut to it), in seconds; 600 by default. A key the provider withdrew is honoured at most this long.
    pub jwks_refresh_max: u64,
    /// `JWT_JWKS_REFETCH_INTERVAL` (this port): at most one refetch of a remote JWK set per this many seconds for tokens naming an unknown `kid`.
    pub jwks_refetch_interval: u64,
    /// `JWT_JWKS_TIMEOUT` (this port): seconds an unknown-`kid` refetch may take (the only fetch a request waits for); startup and background fetches get at least 10 s.
    pub jwks_timeout: u64,
    /// `JWT_JWKS_MAX_BYTES` (this port): the largest JWK set or discovery document accepted, in bytes.
    pub jwks_max_bytes: usize,
    /// `JWT_JWKS_ALLOW_HTTP` (this port): accept plain `http` JWKS and discovery URLs (tests, a loopback sidecar); `https` only otherwise.
    pub jwks_allow_http: bool,
    /// `JWT_STATUS_CODES` (this port): per-kind status overrides, e.g. `invalid_token=401` (kinds in `ERROR_KINDS`).
    pub status_codes: std::collections::BTreeMap<String, u16>,
    /// `JWT_STRICT_KEY_LENGTH` (this port): refuse (instead of warn about) an HMAC secret shorter than the hash output.
    pub strict_key_length: bool,
    /// `JWT_ALLOW_TOKENS_WITHOUT_JTI` (this port): accept tokens without a `jti` (or with one over 128 characters) on routes that check revocation while a revocation store is in use (registered with `.blocklist(...)`, or `JWT_REFRESH_ROTATION`); such tokens can never be revoked one by one, so the default refuses them there (422 `Missing claim: jti`). Without a store they are accepted, as in flask-jwt-extended. For verify-only services checking another issuer's tokens.
    pub allow_tokens_without_jti: bool,
    /// `JWT_VERIFIED_TOKEN_CACHE_SIZE` (this port): how many distinct tokens keep their verified signature and parsed claims, so a client sending the same token again skips that work (every time, claim, CSRF, type, freshness and revocation check still runs); `0` turns the cache off. Bounded: expired entries leave first. Tokens verified with a decode-key loader, a remote JWK set or a trusted issuer's keys are never cached (those keys change).
    pub verified_token_cache_size: usize,
    // OAuth resource server (this port): RFC 6750 challenges and RFC 9728 metadata.
    /// `JWT_BEARER_CHALLENGE` (this port): add RFC 6750 `WWW-Authenticate: Bearer ...` challenges to refusals: the bare `Bearer realm="..."` when no token was sent, `error="invalid_token"` (with `error_description`, the body's message) on a 401 or a token that fails verification, `error="insufficient_scope"` with the route's `scope` on a missing scope. Bodies and statuses stay the reference's. Off by default: flask-jwt-extended sends no challenge.
    pub bearer_challenge: bool,
    /// `JWT_BEARER_REALM` (this port): the `realm` of the challenges (none when unset); needs `JWT_BEARER_CHALLENGE`.
    pub bearer_realm: Option<String>,
    /// `JWT_RESOURCE` (this port): this API's resource identifier (an https URL, RFC 9728), the `resource` of its protected-resource metadata. With it, the manager serves that document (`JwtManager::resource_metadata_endpoint`) and the challenges carry `resource_metadata="<its URL>"`.
    pub resource: Option<String>,
    /// `JWT_AUTHORIZATION_SERVERS` (this port): the issuers whose tokens this resource accepts, listed in the metadata (`authorization_servers`); comma-separated in the environment.
    pub authorization_servers: Vec<String>,
    /// `JWT_SCOPES_SUPPORTED` (this port): the scopes listed in the metadata (`scopes_supported`); space-separated in the environment.
    pub scopes_supported: Vec<String>,
    /// `JWT_RESOURCE_DOCUMENTATION` (this port): a URL of human-readable documentation, listed in the metadata.
    pub resource_documentation: Option<String>,
    // DPoP (this port, RFC 9449): sender-constrained tokens. See `docs/dpop.md`.
    /// `JWT_DPOP` (this port): `disabled` (default), `allowed` or `required`: the DPoP policy of every protected route that does not set its own (`#[jwt_required(dpop = "...")]`). A DPoP-bound token sent as `Bearer` is refused whatever the policy. Needs a store that keeps DPoP proofs (all three provided ones do).
    pub dpop: DpopMode,
    /// `JWT_DPOP_PUBLIC_URL` (this port): the public base URL clients call (`https://api.example.com`, optionally with a path prefix); a proof's `htu` is compared with it joined to the request's original path, never with forwarding headers. Without it, only requests whose `Host` is loopback (development) can carry a proof.
    pub dpop_public_url: Option<String>,
    /// `JWT_DPOP_ALGORITHMS` (this port): the algorithms a proof may be signed with; default `ES256, EdDSA, PS256, RS256, ES384`. Never `none` or HS* (startup error).
    pub dpop_algorithms: Vec<String>,
    /// `JWT_DPOP_PROOF_MAX_AGE` (this port, default 60 s): the oldest a proof's `iat` may be (it may be at most `JWT_DECODE_LEEWAY`, and at least 5 s, in the future); its replay record is kept as long.
    pub dpop_proof_max_age: u64,
    /// `JWT_DPOP_NONCE` (this port, default off): require server nonces in proofs (RFC 9449 section 8); a proof without a valid one is answered `use_dpop_nonce` with a fresh `DPoP-Nonce`.
    pub dpop_nonce: bool,
    /// `JWT_DPOP_NONCE_SECRET` (this port): the secret (at least 32 bytes, shared by every instance) that seals the stateless nonces; derived from `JWT_SECRET_KEY` when unset. Never logged.
    #[serde(skip_serializing)]
    pub dpop_nonce_secret: Option<String>,
    /// `JWT_DPOP_NONCE_LIFETIME` (this port, default 300 s): how long a nonce is accepted.
    pub dpop_nonce_lifetime: u64,
}

impl Default for JwtConfig {
    fn default() -> Self {
        let s = |v: &str| v.to_string();
        JwtConfig {
            access_token_expires: Expiry::minutes(15),
            refresh_token_expires: Expiry::days(30),
            algorithm: s("HS256"),
            decode_algorithms: None,
            secret_key: None,
            private_key: None,
            public_key: None,
            token_location: vec![s("headers")],
            header_name: s("Authorization"),
            header_type: s("Bearer"),
            query_string_name: s("jwt"),
            query_string_value_prefix: String::new(),
            json_key: s("access_token"),
            refresh_json_key: s("refresh_token"),
            identity_claim: s("sub"),
            error_message_key: s("msg"),
            encode_audience: None,
            decode_audience: None,
            encode_issuer: None,
            decode_issuer: None,
            decode_leeway: 0,
            verify_sub: true,
            encode_nbf: true,
            access_cookie_name: s("access_token_cookie"),
            refresh_cookie_name: s("refresh_token_cookie"),
            access_cookie_path: s("/"),
            refresh_cookie_path: s("/"),
            cookie_secure: false,
            cookie_domain: None,
            cookie_samesite: None,
            session_cookie: true,
            cookie_csrf_protect: true,
            csrf_methods: ["POST", "PUT", "PATCH", "DELETE"].map(s).to_vec(),
            csrf_in_cookies: true,
            csrf_check_form: false,
            access_csrf_cookie_name: s("csrf_access_token"),
            refresh_csrf_cookie_name: s("csrf_refresh_token"),
            access_csrf_cookie_path: s("/"),
            refresh_csrf_cookie_path: s("/"),
            access_csrf_header_name: s("X-CSRF-TOKEN"),
            refresh_csrf_header_name: s("X-CSRF-TOKEN"),
            access_csrf_field_name: s("csrf_token"),
            refresh_csrf_field_name: s("csrf_token"),
            max_token_length: 8192,
            json_body_limit: 65_536,
            encode_kid: None,
            decode_keys: Vec::new(),
            decode_jwks: None,
            decode_jwks_url: None,
            decode_issuer_discovery: None,
            decode_any_audience: false,
            decode_trust_app_claims: false,
            decode_access_token_profile: false,
            trusted_issuers: Vec::new(),
            jwks_refresh_min: 300,
            jwks_refresh_max: 600,
            jwks_refetch_interval: 10,
            jwks_timeout: 2,
            jwks_max_bytes: 1_048_576,
            jwks_allow_http: false,
            status_codes: std::collections::BTreeMap::new(),
            implicit_refresh_window: None,
            refresh_rotation: false,
            refresh_rotation_grace: 10,
            strict_key_length: false,
            allow_tokens_without_jti: false,
            verified_token_cache_size: 4096,
            bearer_challenge: false,
            bearer_realm: None,
            resource: None,
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
            resource_documentation: None,
            dpop: DpopMode::Disabled,
            dpop_public_url: None,
            dpop_algorithms: ["ES256", "EdDSA", "PS256", "RS256", "ES384"]
                .map(s)
                .to_vec(),
            dpop_proof_max_age: 60,
            dpop_nonce: false,
            dpop_nonce_secret: None,
            dpop_nonce_lifetime: 300,
        }
    }
}

/// Every key-bearing option is redacted (secrets, PEM keys, JWK sets, decoding keys): a config
/// can be logged safely.
impl fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = shown.as_object_mut() {
            let redacted =
                |set: bool| serde_json::Value::from(if set { "<redacted>" } else { "<unset>" });
            map.insert("secret_key".into(), redacted(self.secret_key.is_some()));
            map.insert("private_key".into(), redacted(self.private_key.is_some()));
            map.insert("public_key".into(), redacted(self.public_key.is_some()));
            map.insert("decode_jwks".into(), redacted(self.decode_jwks.is_some()));
            map.insert(
                "dpop_nonce_secret".into(),
                redacted(self.dpop_nonce_secret.is_some()),
            );
            let keys: Vec<serde_json::Value> = self
                .decode_keys
                .iter()
                .map(|k| serde_json::json!({"kid": k.kid, "algorithm": k.algorithm, "key": "<redacted>"}))
                .collect();
            map.insert("decode_keys".into(), keys.into());
        }
        write!(f, "JwtConfig {shown}")
    }
}

/// An extra verification key for key rotation, selected by the token's `kid`.
///
/// ```
/// let key: jwt_runtime::keys::DecodeKeyConfig = serde_json::from_str(
///     r#"{"kid": "2026-01", "algorithm": "HS256", "secret": "an-old-secret-of-at-least-32-bytes!!"}"#,
/// ).unwrap();
/// assert_eq!(key.kid, "2026-01");
/// ```
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DecodeKeyConfig {
    /// The `kid` that selects this key.
    pub kid: String,
    /// Its one algorithm.
    pub algorithm: String,
    /// PEM public key, for RS*/PS*/ES*/EdDSA.
    #[serde(default)]
    pub public_key: Option<String>,
    /// The secret, for HS*. Never logged.
    #[serde(default, skip_serializing)]
    pub secret: Option<String>,
}

impl fmt::Debug for DecodeKeyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeKeyConfig")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("public_key", &self.public_key.as_ref().map(|_| "<pem>"))
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Another issuer whose tokens this app accepts beside its own (feature `remote-jwks`; register it
/// with `JwtManagerBuilder::trust_issuer`): its keys come from its JWK set, and a token whose `iss`
/// is `issuer` is verified with those keys and this issuer's rules only, never with the app's own
/// keys or options (`JWT_DECODE_AUDIENCE`, `JWT_IDENTITY_CLAIM` and `JWT_DECODE_ALGORITHMS` do not
/// apply to it).
///
/// Every trusted issuer names the audience its tokens must be issued to ([`audience`](Self::audience()),
/// this API's client id at the provider): a provider signs tokens for all its clients, and without
/// the check a token issued to any other of them would be accepted here (token substitution,
/// RFC 8725 section 3.9). An issuer without one refuses startup; [`any_audience`](Self::any_audience())
/// opts out explicitly, for a provider whose every token is meant for this API.
///
/// Its users are its own: "log out everywhere" files them under the issuer and the identity in
/// its `identity_claim`, never beside this app's users of the same name
/// (`JwtManager::revoke_all_for_user` with the handler's `Identity`).
///
/// ```
/// use jwt_runtime::keys::TrustedIssuer;
/// let idp = TrustedIssuer::new("https://auth.example.com/realms/acme")
///     .audience("my-api")
///     .identity_claim("email");
/// assert_eq!(idp.jwks_url, None); // found by OIDC discovery
/// // A provider that issues tokens for this API only, deliberately without an audience rule:
/// let partner = TrustedIssuer::new("https://partner.example")
///     .jwks_url("https://partner.example/keys")
///     .any_audience();
/// assert!(partner.any_audience);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuer {
    /// The issuer, compared exactly with the token's `iss`.
    pub issuer: String,
    /// Its JWK set; `None`: the `jwks_uri` of `<issuer>/.well-known/openid-configuration`.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// The algorithms accepted from it; empty: each key's own `alg`.
    #[serde(default)]
    pub algorithms: Vec<String>,
    /// Its tokens must carry an `aud` that intersects it. Required (a startup error names the
    /// issuer) unless `any_audience`. In a config file, a string or a list.
    #[serde(default, deserialize_with = "one_or_many")]
    pub audience: Option<Vec<String>>,
    /// Accepts its tokens whatever their `aud` (no audience rule): only for a provider whose
    /// every token is meant for this API. Not together with `audience`.
    #[serde(default)]
    pub any_audience: bool,
    /// The claim holding the identity in its tokens (`sub` by default).
    #[serde(default = "default_identity_claim")]
    pub identity_claim: String,
    /// Lets its tokens satisfy this app's own claim policies: the admin claim of
    /// `#[admin_required]`, `fresh`, and `type: refresh` (refresh-only routes). Off by default:
    /// its token is never fresh, never an administrator and never a refresh token here,
    /// whatever it claims (its roles and scopes still count).
    #[serde(default)]
    pub trust_app_claims: bool,
    /// Its tokens must follow the JWT access-token profile of RFC 9068: header `typ` `at+jwt`
    /// (or `application/at+jwt`), and claims `client_id`, `iat` and `jti`.
    #[serde(default)]
    pub access_token_profile: bool,
}

fn default_identity_claim() -> String {
    "sub".into()
}

impl TrustedIssuer {
    /// An issuer found by OIDC discovery, its keys' own algorithms, `sub`; it still needs an
    /// [`audience`](Self::audience()) (or [`any_audience`](Self::any_audience())).
    pub fn new(issuer: impl Into<String>) -> Self {
        TrustedIssuer {
            issuer: issuer.into(),
            jwks_url: None,
            algorithms: Vec::new(),
            audience: None,
            any_audience: false,
            identity_claim: default_identity_claim(),
            trust_app_claims: false,
            access_token_profile: false,
        }
    }

    /// Its JWK set URL (no discovery).
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// Adds an accepted audience: this API's client id (or resource name) at the issuer.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience
            .get_or_insert_with(Vec::new)
            .push(audience.into());
        self
    }

    /// Accepts its tokens whatever audience they were issued to. Only for a provider whose every
    /// token is meant for this API: otherwise a token it issued to another client (another app
    /// of the same provider) opens this one too (RFC 8725 section 3.9).
    pub fn any_audience(mut self) -> Self {
        self.any_audience = true;
        self
    }

    /// The identity claim of its tokens.
    pub fn identity_claim(mut self, claim: impl Into<String>) -> Self {
        self.identity_claim = claim.into();
        self
    }

    /// Adds an accepted algorithm (by default each key's own `alg`).
    pub fn algorithm(mut self, alg: impl Into<String>) -> Self {
        self.algorithms.push(alg.into());
        self
    }

    /// Lets its tokens satisfy this app's own claim policies (`#[admin_required]`'s claim,
    /// `fresh`, `type: refresh`): only for an issuer that mints them with this app's meaning,
    /// such as a sibling service built on this crate.
    ///
    /// ```
    /// use jwt_runtime::keys::TrustedIssuer;
    /// let sibling = TrustedIssuer::new("https://accounts.example").audience("my-api").trust_app_claims();
    /// assert!(sibling.trust_app_claims);
    /// ```
    pub fn trust_app_claims(mut self) -> Self {
        self.trust_app_claims = true;
        self
    }

    /// Requires the JWT access-token profile of RFC 9068 of its tokens: `typ` `at+jwt` (or
    /// `application/at+jwt`, any case) and the claims `client_id`, `iat` and `jti`.
    ///
    /// ```
    /// use jwt_runtime::keys::TrustedIssuer;
    /// let idp = TrustedIssuer::new("https://auth.example.com").audience("my-api").access_token_profile();
    /// assert!(idp.access_token_profile);
    /// ```
    pub fn access_token_profile(mut self) -> Self {
        self.access_token_profile = true;
        self
    }
}

/// A string or a list of strings (audiences, issuers), as the reference accepts.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(s)) => Some(vec![s]),
        Some(OneOrMany::Many(v)) => Some(v),
    })
}

impl JwtConfig {
    /// Sets the HMAC secret, for the common one-liner.
    ///
    /// ```
    /// let config = jwt_runtime::JwtConfig::default().with_secret("super-secret");
    /// assert!(config.secret_key.is_some());
    /// ```
    pub fn with_secret(mut self, secret: impl Into<String>) -> Self {
        self.secret_key = Some(secret.into());
        self
    }
}
