//! Keys and the algorithm allow-list, built once from the config.
//!
//! The reference's rules: HS* algorithms use `JWT_SECRET_KEY`; every other algorithm uses
//! `JWT_PRIVATE_KEY` to sign and `JWT_PUBLIC_KEY` to verify. Beyond the reference, extra decoding
//! keys can be named by `kid` (`JWT_DECODE_KEYS`, `JWT_DECODE_JWKS`) for key rotation; the token's
//! `kid` selects among them, nothing else in the header does. Every key is bound to one
//! algorithm, so a key never verifies a signature made by another algorithm.

use std::str::FromStr;

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::Value;

use super::verifiers::{self, KeyId};
use crate::config::{DecodeKeyConfig, JwtConfig};
use crate::vocabulary::{ConfigError, JsonObject, JwtError};

/// The key a token's header selected, with its algorithm, its [`KeyId`] when the key is one
/// of the manager's (its verifier is then built once per thread and reused) and its [`InSet`]
/// flag (a token it verified may then be cached for as long as the flag holds); both `None` for
/// a key that may differ per request (a decode-key loader's). Its [`KeyOrigin`] says where the
/// key came from, which the verified token records.
#[derive(Clone, Copy)]
pub(crate) struct KeyChoice<'k> {
    pub(crate) alg: jsonwebtoken::Algorithm,
    pub(crate) key: &'k jsonwebtoken::DecodingKey,
    pub(crate) id: Option<KeyId>,
    pub(crate) in_set: Option<&'k InSet>,
    pub(crate) origin: KeyOrigin,
}

/// Where a chosen key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyOrigin {
    /// The config (this app's own keys).
    Config,
    /// A JWK set fetched from a provider (the remote set, a trusted issuer's).
    Fetched,
    /// A decode-key loader.
    Loaded,
}

/// Whether a key is still in the set it came from: one flag shared by the key and by every
/// cached token it verified. A remote JWK set lowers it when a fetch no longer lists the key, so
/// each such token is refused from that moment on (one atomic load per cache hit, no scan). The
/// keys of the config never leave: their flag stays up for the manager's life.
#[derive(Debug, Clone)]
pub(crate) struct InSet(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl InSet {
    /// The flag of a key just added to its set.
    pub(crate) fn new() -> Self {
        InSet(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(
            true,
        )))
    }

    /// Whether the key is still in its set.
    pub(crate) fn holds(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The key left its set, for good.
    #[cfg_attr(not(any(test, feature = "remote-jwks")), allow(dead_code))]
    pub(crate) fn leave(&self) {
        self.0.store(false, std::sync::atomic::Ordering::Release);
    }

    /// Whether both are the flag of one key.
    #[cfg(feature = "remote-jwks")]
    pub(crate) fn same(&self, other: &InSet) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

static INSTALL_PROVIDER: std::sync::Once = std::sync::Once::new();

/// Installs jsonwebtoken's crypto provider for the backend this crate was built with, once, so
/// the crate's "no crypto provider" panic can never happen. A provider the application installed
/// first is kept.
pub(crate) fn install_crypto_provider() {
    INSTALL_PROVIDER.call_once(|| {
        #[cfg(feature = "aws_lc_rs")]
        let ours = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
        #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
        let ours = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
        // Verifiers are reused only when the installed provider is known to be this one.
        verifiers::set_known_provider(ours.install_default().is_ok().then_some(ours));
    });
}

#[cfg(not(any(feature = "aws_lc_rs", feature = "rust_crypto")))]
compile_error!(
    "jwt-runtime needs a crypto backend: enable the `aws_lc_rs` (default) or `rust_crypto` feature"
);

/// One verification key, bound to one algorithm, optionally named by `kid`.
#[derive(Clone)]
pub(crate) struct DecodeKey {
    pub(crate) kid: Option<String>,
    pub(crate) alg_name: String,
    pub(crate) alg: Algorithm,
    pub(crate) key: DecodingKey,
    /// This key's material, for reusing its verifier ([`super::verifiers`]).
    pub(crate) id: KeyId,
    /// Whether the key is still in its set ([`InSet`]).
    pub(crate) in_set: InSet,
    /// A remote key's JWK as published, which tells a key a refetch still lists (kept, with its
    /// verifier and its cached tokens) from a new one under the same `kid`; `None` for a key of
    /// the config (so it also tells a fetched key, [`KeyOrigin::Fetched`], from an own one).
    pub(crate) published: Option<Box<str>>,
}

impl DecodeKey {
    /// This key as the JWS layer uses it.
    pub(crate) fn choice(&self) -> KeyChoice<'_> {
        KeyChoice {
            alg: self.alg,
            key: &self.key,
            id: Some(self.id),
            in_set: Some(&self.in_set),
            // Only a fetched key has a published JWK.
            origin: if self.published.is_some() {
                KeyOrigin::Fetched
            } else {
                KeyOrigin::Config
            },
        }
    }

    /// A key of the config (never leaves its set).
    fn local(kid: Option<String>, alg_name: String, alg: Algorithm, key: DecodingKey) -> Self {
        DecodeKey {
            kid,
            alg_name,
            alg,
            key,
            id: KeyId::fresh(),
            in_set: InSet::new(),
            published: None,
        }
    }

    /// Whether `other` is this key as fetched again: same `kid`, algorithm and JWK.
    #[cfg(feature = "remote-jwks")]
    pub(crate) fn is_refetch_of(&self, other: &DecodeKey) -> bool {
        self.published.is_some()
            && self.published == other.published
            && self.kid == other.kid
            && self.alg_name == other.alg_name
    }
}

/// The keys of a remote JWK set, as last fetched.
pub(crate) type RemoteKeys = std::sync::Arc<Vec<DecodeKey>>;

/// The signing key (absent on a verify-only manager) and every verification key.
#[derive(Clone)]
pub(crate) struct KeySet {
    pub(crate) algorithm: Algorithm,
    pub(crate) algorithm_name: String,
    pub(crate) encoding: Option<EncodingKey>,
    pub(crate) encode_kid: Option<String>,
    pub(crate) decoding: Vec<DecodeKey>,
    /// The allowed `alg` header values.
    pub(crate) allowed: Vec<String>,
}

pub(crate) fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

fn hmac_output_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

fn parse_algorithm(option: &str, name: &str) -> Result<Algorithm, ConfigError> {
    Algorithm::from_str(name).map_err(|_| {
        ConfigError::new(
            option.to_string(),
            format!(
                "\"{name}\" is not a supported algorithm (expected one of HS256, HS384, \
                 HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)"
            ),
        )
    })
}

/// The secret for an HMAC algorithm: never empty; shorter than the hash output only warns,
/// unless `JWT_STRICT_KEY_LENGTH`.
fn check_secret(
    config: &JwtConfig,
    option: &str,
    secret: &str,
    alg_name: &str,
    alg: Algorithm,
) -> Result<(), ConfigError> {
    if secret.is_empty() {
        return Err(ConfigError::sentence(
            option.to_string(),
            format!("must be set when using symmetric algorithm \"{alg_name}\""),
        ));
    }
    let wanted = hmac_output_len(alg);
    if secret.len() < wanted {
        let error = ConfigError::sentence(
            option.to_string(),
            format!(
                "is {} bytes, shorter than the {wanted} bytes {alg_name} needs to resist \
                 brute force; generate a random secret of at least {wanted} bytes",
                secret.len()
            ),
        );
        if config.strict_key_length {
            return Err(error);
        }
        let msg = error.to_string();
        // Once per process and message: the same secret serves encoding and decoding.
        static WARNED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let mut warned = WARNED.lock().unwrap_or_else(|p| p.into_inner());
        if !warned.contains(&msg) {
            tracing::warn!(target: "jwt_runtime", "{msg}");
            warned.push(msg);
        }
    }
    Ok(())
}

/// Refuses RSA keys under 2048 bits and EC keys of the wrong curve (RFC 8725 §3.5, RFC 7518 §3.4).
fn check_strength(
    option: &str,
    alg_name: &str,
    alg: Algorithm,
    jwk: &Jwk,
) -> Result<(), ConfigError> {
    match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let bytes =
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &rsa.n)
                    .map(|n| n.iter().skip_while(|b| **b == 0).count())
                    .unwrap_or(0);
            if bytes * 8 < 2048 {
                return Err(ConfigError::new(
                    option.to_string(),
                    format!(
                        "RSA keys shorter than 2048 bits are refused ({} bits)",
                        bytes * 8
                    ),
                ));
            }
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            let expected = match alg {
                Algorithm::ES256 => EllipticCurve::P256,
                _ => EllipticCurve::P384,
            };
            if ec.curve != expected {
                return Err(ConfigError::new(
                    option.to_string(),
                    format!(
                        "\"{alg_name}\" needs a {expected:?} key, this one is {:?}",
                        ec.curve
                    ),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

fn key_error(option: &str, alg_name: &str, e: jsonwebtoken::errors::Error) -> ConfigError {
    ConfigError::sentence(
        option.to_string(),
        format!("is not a valid key for \"{alg_name}\": {e}"),
    )
}

fn decoding_from_pem(
    option: &str,
    pem: &str,
    alg_name: &str,
    alg: Algorithm,
) -> Result<DecodingKey, ConfigError> {
    let bytes = pem.as_bytes();
    let key = match alg {
        Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(bytes),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(bytes),
        _ => DecodingKey::from_rsa_pem(bytes),
    }
    .map_err(|e| key_error(option, alg_name, e))?;
    let jwk =
        Jwk::from_decoding_key(&key, Some(alg)).map_err(|e| key_error(option, alg_name, e))?;
    check_strength(option, alg_name, alg, &jwk)?;
    Ok(key)
}

fn encoding_from_pem(
    pem: &str,
    alg_name: &str,
    alg: Algorithm,
) -> Result<EncodingKey, ConfigError> {
    let option = "JWT_PRIVATE_KEY";
    let bytes = pem.as_bytes();
    let key = match alg {
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(bytes),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(bytes),
        _ => EncodingKey::from_rsa_pem(bytes),
    }
    .map_err(|e| key_error(option, alg_name, e))?;
    let jwk = Jwk::from_encoding_key(&key, alg).map_err(|e| {
        // aws-lc refuses small RSA keys itself.
        if e.to_string().contains("TooSmall") {
            ConfigError::new(option, "RSA keys shorter than 2048 bits are refused")
        } else {
            key_error(option, alg_name, e)
        }
    })?;
    check_strength(option, alg_name, alg, &jwk)?;
    Ok(key)
}

/// An optional string option's value, unless it is unset or blank.
pub(crate) fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.trim().is_empty())
}

fn missing_asymmetric(option: &str, alg_name: &str) -> ConfigError {
    ConfigError::sentence(
        option.to_string(),
        format!("must be set to use asymmetric cryptography algorithm \"{alg_name}\""),
    )
}

/// The key named `kid` bound to `alg` (a remote key without `alg` is one key per algorithm it
/// may verify, all under its `kid`): an unknown `kid` is PyJWT's "Unable to find a signing key"
/// error, a known one under another algorithm "The specified alg value is not allowed".
pub(crate) fn select<'k>(
    keys: impl Iterator<Item = &'k DecodeKey>,
    kid: &str,
    alg: &str,
) -> Result<&'k DecodeKey, JwtError> {
    let mut named = false;
    for key in keys.filter(|k| k.kid.as_deref() == Some(kid)) {
        if key.alg_name == alg {
            return Ok(key);
        }
        named = true;
    }
    Err(JwtError::invalid(if named {
        "The specified alg value is not allowed".to_string()
    } else {
        format!("Unable to find a signing key that matches: \"{kid}\"")
    }))
}

/// A key of `JWT_DECODE_KEYS`.
fn named_key(config: &JwtConfig, spec: &DecodeKeyConfig) -> Result<DecodeKey, ConfigError> {
    let option = format!("JWT_DECODE_KEYS[{}]", spec.kid);
    if spec.kid.is_empty() {
        return Err(ConfigError::new(
            "JWT_DECODE_KEYS",
            "every key needs a non-empty kid",
        ));
    }
    let alg = parse_algorithm(&option, &spec.algorithm)?;
    let key = if is_hmac(alg) {
        let secret = spec.secret.as_deref().unwrap_or_default();
        check_secret(config, &option, secret, &spec.algorithm, alg)?;
        DecodingKey::from_secret(secret.as_bytes())
    } else {
        let pem = non_empty(&spec.public_key)
            .ok_or_else(|| missing_asymmetric(&option, &spec.algorithm))?;
        decoding_from_pem(&option, pem, &spec.algorithm, alg)?
    };
    Ok(DecodeKey::local(
        Some(spec.kid.clone()),
        spec.algorithm.clone(),
        alg,
        key,
    ))
}

/// JWK members that only a private key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
pub(crate) const PRIVATE_JWK_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The keys of `JWT_DECODE_JWKS`: public keys only, each with `kid` and `alg`. A key with private
/// members is refused: a verification key set is published, and a private key in it is a leak.
fn jwks_keys(jwks: &str) -> Result<Vec<DecodeKey>, ConfigError> {
    let raw: Value = serde_json::from_str(jwks)
        .map_err(|e| ConfigError::sentence("JWT_DECODE_JWKS", format!("is not a JWK set: {e}")))?;
    let set: JwkSet = serde_json::from_value(raw.clone())
        .map_err(|e| ConfigError::sentence("JWT_DECODE_JWKS", format!("is not a JWK set: {e}")))?;
    let raw_keys = raw.get("keys").and_then(Value::as_array);
    let mut keys = Vec::with_capacity(set.keys.len());
    for (index, jwk) in set.keys.iter().enumerate() {
        let private: Vec<&str> = raw_keys
            .and_then(|all| all.get(index))
            .and_then(Value::as_object)
            .map(|members| {
                PRIVATE_JWK_MEMBERS
                    .iter()
                    .copied()
                    .filter(|m| members.contains_key(*m))
                    .collect()
            })
            .unwrap_or_default();
        let kid = jwk
            .common
            .key_id
            .clone()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| ConfigError::new("JWT_DECODE_JWKS", "every key needs a \"kid\""))?;
        let option = format!("JWT_DECODE_JWKS[{kid}]");
        if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
            return Err(ConfigError::new(
                option,
                "symmetric keys are not accepted from a JWK set",
            ));
        }
        if !private.is_empty() {
            let names: Vec<String> = private.iter().map(|m| format!("\"{m}\"")).collect();
            return Err(ConfigError::new(
                option,
                format!(
                    "the key has private members ({}); publish only public keys",
                    names.join(", ")
                ),
            ));
        }
        let alg_name = jwk
            .common
            .key_algorithm
            .and_then(|a: KeyAlgorithm| serde_json::to_value(a).ok())
            .and_then(|v| v.as_str().map(String::from))
            .ok_or_else(|| ConfigError::new(option.clone(), "the key needs an \"alg\""))?;
        let alg = parse_algorithm(&option, &alg_name)?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| key_error(&option, &alg_name, e))?;
        check_strength(&option, &alg_name, alg, jwk)?;
        keys.push(DecodeKey::local(Some(kid), alg_name, alg, key));
    }
    Ok(keys)
}

/// The algorithms a public key of this type can verify, never an HMAC one: RSA keys the RS* and
/// PS* families, EC keys the one algorithm of their curve, OKP keys on Ed25519 EdDSA.
#[cfg(feature = "remote-jwks")]
fn algorithms_of(kty: &str, crv: Option<&str>) -> &'static [&'static str] {
    match (kty, crv) {
        ("RSA", _) => &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
        ("EC", Some("P-256")) => &["ES256"],
        ("EC", Some("P-384")) => &["ES384"],
        ("OKP", Some("Ed25519")) => &["EdDSA"],
        _ => &[],
    }
}

/// The algorithms a remote key set's keys without `alg` may be bound to: `JWT_DECODE_ALGORITHMS`
/// and `JWT_ALGORITHM` (the manager's allow-list), or a trusted issuer's own list.
#[cfg(feature = "remote-jwks")]
pub(crate) fn allowed_algorithms(config: &JwtConfig) -> Vec<String> {
    let mut allowed = config.decode_algorithms.clone().unwrap_or_default();
    if !allowed.contains(&config.algorithm) {
        allowed.push(config.algorithm.clone());
    }
    allowed
}

/// The keys one JWK of a remote set gives, or why it is skipped (warned about, never a startup
/// error): one key bound to its `alg`; for a JWK without `alg` (RFC 7517 makes it optional; Entra
/// ID and oidc-provider publish such keys), one key per algorithm its key type can verify
/// ([`algorithms_of`]) within `allowed`, each selected by the token's `alg` and `kid` together.
#[cfg(feature = "remote-jwks")]
fn remote_keys(raw: &Value, allowed: &[String]) -> Result<Vec<DecodeKey>, String> {
    let members = raw.as_object().ok_or("not a JSON object")?;
    let kid = members
        .get("kid")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .ok_or("it has no \"kid\"")?
        .to_string();
    let private: Vec<String> = PRIVATE_JWK_MEMBERS
        .iter()
        .filter(|m| members.contains_key(**m))
        .map(|m| format!("\"{m}\""))
        .collect();
    if members.get("kty").and_then(Value::as_str) == Some("oct") {
        return Err("symmetric keys are not accepted from a JWK set".into());
    }
    if !private.is_empty() {
        return Err(format!("it has private members ({})", private.join(", ")));
    }
    match members.get("use") {
        None => {}
        Some(Value::String(u)) if u == "sig" => {}
        Some(other) => return Err(format!("its \"use\" is {other}, not \"sig\"")),
    }
    let kty = members
        .get("kty")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let alg_names: Vec<String> = match members.get("alg") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(other) => return Err(format!("its \"alg\" {other} is not a string")),
        None => {
            let crv = members.get("crv").and_then(Value::as_str);
            let suited: Vec<String> = algorithms_of(kty, crv)
                .iter()
                .filter(|a| allowed.iter().any(|x| x == *a))
                .map(|a| a.to_string())
                .collect();
            if suited.is_empty() {
                return Err(format!(
                    "it has no \"alg\" and its key type \"{kty}\"{} suits none of the allowed \
                     algorithms ({})",
                    crv.map(|c| format!(" on \"{c}\"")).unwrap_or_default(),
                    allowed.join(", ")
                ));
            }
            suited
        }
    };
    let published: Box<str> = raw.to_string().into();
    let mut keys = Vec::with_capacity(alg_names.len());
    for alg_name in alg_names {
        let alg = parse_algorithm("alg", &alg_name).map_err(|e| e.reason().to_string())?;
        if is_hmac(alg) {
            return Err("symmetric keys are not accepted from a JWK set".into());
        }
        let mut jwk: Jwk = serde_json::from_value(raw.clone()).map_err(|e| e.to_string())?;
        jwk.common.key_algorithm = serde_json::from_value(Value::from(alg_name.clone())).ok();
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
        // The curve and the RSA size.
        check_strength("key", &alg_name, alg, &jwk).map_err(|e| e.reason().to_string())?;
        keys.push(DecodeKey {
            published: Some(published.clone()),
            ..DecodeKey::local(Some(kid.clone()), alg_name, alg, key)
        });
    }
    Ok(keys)
}

/// The usable keys of a remote JWK set (`source` names it in warnings; `allowed`: the algorithms
/// a key without `alg` may be bound to). Unlike `JWT_DECODE_JWKS`, where such a key is a startup
/// error, a key with private members, a symmetric key, a key whose `use` is not `sig`, a key with
/// an unknown or unsuitable `alg`, a key without `kid` or a repeated `kid` is skipped with a
/// warning: the set is the provider's, and one odd key must not stop every other from
/// verifying. A set with no usable key at all is an error.
#[cfg(feature = "remote-jwks")]
pub(crate) fn remote_key_set(
    body: &[u8],
    allowed: &[String],
    source: &str,
) -> Result<Vec<DecodeKey>, String> {
    let raw: Value =
        serde_json::from_slice(body).map_err(|e| format!("the response is not JSON: {e}"))?;
    let all = raw
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("the response is not a JWK set (no \"keys\" array)")?;
    let mut keys: Vec<DecodeKey> = Vec::with_capacity(all.len());
    for (index, raw_key) in all.iter().enumerate() {
        let name = raw_key
            .get("kid")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{index}"), |k| format!("\"{k}\""));
        match remote_keys(raw_key, allowed) {
            Ok(found) if keys.iter().any(|k| found.iter().any(|f| f.kid == k.kid)) => {
                tracing::warn!(target: "jwt_runtime", "JWK set {source}: key {name} skipped: its kid is used twice");
            }
            Ok(found) => keys.extend(found),
            Err(why) => {
                tracing::warn!(target: "jwt_runtime", "JWK set {source}: key {name} skipped: {why}");
            }
        }
    }
    if keys.is_empty() {
        return Err("the JWK set has no usable signature key".into());
    }
    Ok(keys)
}

impl KeySet {
    pub(crate) fn from_config(config: &JwtConfig) -> Result<Self, ConfigError> {
        let algorithm = parse_algorithm("JWT_ALGORITHM", &config.algorithm)?;
        // Keys fetched from a provider cover the asymmetric algorithms (checked when fetched).
        let remote = non_empty(&config.decode_jwks_url).is_some()
            || non_empty(&config.decode_issuer_discovery).is_some();
        let mut named: Vec<DecodeKey> = Vec::new();
        for spec in &config.decode_keys {
            named.push(named_key(config, spec)?);
        }
        if let Some(jwks) = non_empty(&config.decode_jwks) {
            named.extend(jwks_keys(jwks)?);
        }
        for (i, key) in named.iter().enumerate() {
            if named[..i].iter().any(|k| k.kid == key.kid) {
                return Err(ConfigError::about(
                    "JWT_DECODE_KEYS",
                    format!(
                        "the decoding key id \"{}\" is used twice",
                        key.kid.as_deref().unwrap_or_default()
                    ),
                ));
            }
        }

        // As the reference: the decode list defaults to [JWT_ALGORITHM], and JWT_ALGORITHM is
        // always allowed. Named keys add their own algorithm.
        let mut allowed: Vec<String> = config.decode_algorithms.clone().unwrap_or_default();
        if !allowed.contains(&config.algorithm) {
            allowed.push(config.algorithm.clone());
        }
        for key in &named {
            if !allowed.contains(&key.alg_name) {
                allowed.push(key.alg_name.clone());
            }
        }

        let mut decoding = Vec::with_capacity(allowed.len() + named.len());
        for name in &allowed {
            let alg = parse_algorithm("JWT_DECODE_ALGORITHMS", name)?;
            let covered = named.iter().any(|k| &k.alg_name == name);
            let key = if is_hmac(alg) {
                match non_empty(&config.secret_key) {
                    Some(secret) => {
                        check_secret(config, "JWT_SECRET_KEY", secret, name, alg)?;
                        Some(DecodingKey::from_secret(secret.as_bytes()))
                    }
                    None if covered => None,
                    None => {
                        check_secret(config, "JWT_SECRET_KEY", "", name, alg)?;
                        None
                    }
                }
            } else {
                match non_empty(&config.public_key) {
                    Some(pem) => Some(decoding_from_pem("JWT_PUBLIC_KEY", pem, name, alg)?),
                    None if covered || remote => None,
                    None if non_empty(&config.private_key).is_none() => {
                        return Err(missing_asymmetric("JWT_PRIVATE_KEY", name))
                    }
                    None => return Err(missing_asymmetric("JWT_PUBLIC_KEY", name)),
                }
            };
            if let Some(key) = key {
                decoding.push(DecodeKey::local(None, name.clone(), alg, key));
            }
        }
        decoding.extend(named);

        let encoding = if is_hmac(algorithm) {
            let secret = non_empty(&config.secret_key).unwrap_or_default();
            check_secret(
                config,
                "JWT_SECRET_KEY",
                secret,
                &config.algorithm,
                algorithm,
            )?;
            Some(EncodingKey::from_secret(secret.as_bytes()))
        } else {
            match non_empty(&config.private_key) {
                Some(pem) => Some(encoding_from_pem(pem, &config.algorithm, algorithm)?),
                // A verify-only service: tokens are made elsewhere.
                None => None,
            }
        };
        Ok(KeySet {
            algorithm,
            algorithm_name: config.algorithm.clone(),
            encoding,
            encode_kid: non_empty(&config.encode_kid).map(String::from),
            decoding,
            allowed,
        })
    }

    /// The header's `alg`, if it is allowed.
    pub(crate) fn allowed_alg(&self, header: &JsonObject) -> Result<Algorithm, JwtError> {
        header
            .get("alg")
            .and_then(Value::as_str)
            .filter(|a| self.allowed.iter().any(|x| x == a))
            .and_then(|a| Algorithm::from_str(a).ok())
            .ok_or_else(|| JwtError::invalid("The specified alg value is not allowed"))
    }

    /// The key for a token's header: its `alg` must be allowed; its `kid`, when keys are named,
    /// selects the key (which must be bound to that `alg`). Nothing else in the header is read.
    /// `remote` is the current remote JWK set (empty without one): its keys are named, and each
    /// allows its own algorithm, as the keys of `JWT_DECODE_KEYS` do.
    pub(crate) fn decoding_for<'k>(
        &'k self,
        header: &JsonObject,
        remote: &'k [DecodeKey],
    ) -> Result<KeyChoice<'k>, JwtError> {
        let not_allowed = || JwtError::invalid("The specified alg value is not allowed");
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .filter(|a| {
                self.allowed.iter().any(|x| x == a) || remote.iter().any(|k| k.alg_name == *a)
            })
            .ok_or_else(not_allowed)?;
        let mut all = self.decoding.iter().chain(remote);
        let named = !remote.is_empty() || self.decoding.iter().any(|k| k.kid.is_some());
        let found = match header.get("kid").and_then(Value::as_str) {
            Some(kid) if named => select(all, kid, alg)?,
            _ => all
                .find(|k| k.kid.is_none() && k.alg_name == alg)
                .ok_or_else(|| {
                    JwtError::invalid("The token has no \"kid\" header to select its key")
                })?,
        };
        Ok(found.choice())
    }

    /// Whether a key of this set (not a remote one) is named `kid`.
    pub(crate) fn has_kid(&self, kid: &str) -> bool {
        self.decoding.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The signing key, or the reference's message when this manager cannot sign.
    pub(crate) fn encoding(&self) -> Result<&EncodingKey, JwtError> {
        self.encoding.as_ref().ok_or_else(|| {
            JwtError::TokenCreation(
                format!(
                    "JWT_PRIVATE_KEY must be set to use asymmetric cryptography algorithm \"{}\"",
                    self.algorithm_name
                )
                .into(),
            )
        })
    }

    /// The public keys, as a JWK set: the signing key's public half (with `JWT_ENCODE_KID`) and
    /// every named asymmetric decoding key. Never a secret.
    pub(crate) fn jwks(&self) -> JwkSet {
        let mut keys = Vec::new();
        let mut push = |mut jwk: Jwk, kid: Option<String>| {
            jwk.common.key_id = kid;
            jwk.common.public_key_use = Some(PublicKeyUse::Signature);
            if !keys
                .iter()
                .any(|k: &Jwk| k.common.key_id == jwk.common.key_id && k.algorithm == jwk.algorithm)
            {
                keys.push(jwk);
            }
        };
        if let Some(encoding) = self.encoding.as_ref().filter(|_| !is_hmac(self.algorithm))
            && let Ok(jwk) = Jwk::from_encoding_key(encoding, self.algorithm)
        {
            push(jwk, self.encode_kid.clone());
        }
        for key in self
            .decoding
            .iter()
            .filter(|k| !is_hmac(k.alg) && k.kid.is_some())
        {
            if let Ok(jwk) = Jwk::from_decoding_key(&key.key, Some(key.alg)) {
                push(jwk, key.kid.clone());
            }
        }
        JwkSet { keys }
    }
}
