//! Keys and the algorithm allow-list, built once from the config.
//!
//! The reference's rules: HS* algorithms use `JWT_SECRET_KEY`; every other algorithm uses
//! `JWT_PRIVATE_KEY` to sign and `JWT_PUBLIC_KEY` to verify. Each allowed algorithm gets exactly
//! one key of its own family, so a key can never verify a signature made by another algorithm
//! family (HS256 keyed with an RSA public key, and so on).

use std::str::FromStr;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use crate::config::JwtConfig;
use crate::error::ConfigError;

/// The signing algorithm with its key, and every decoding algorithm with its key.
#[derive(Clone)]
pub(crate) struct KeySet {
    pub(crate) algorithm: Algorithm,
    pub(crate) algorithm_name: String,
    pub(crate) encoding: EncodingKey,
    /// Allowed decoding algorithms by their header name, each with its own key.
    pub(crate) decoding: Vec<(String, Algorithm, DecodingKey)>,
}

fn is_hmac(alg: Algorithm) -> bool {
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
        ConfigError::new(format!(
            "{option}: \"{name}\" is not a supported algorithm (expected one of HS256, HS384, \
             HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA)"
        ))
    })
}

fn secret_for(config: &JwtConfig, alg_name: &str, alg: Algorithm) -> Result<Vec<u8>, ConfigError> {
    let secret = config.secret_key.as_deref().unwrap_or_default();
    if secret.is_empty() {
        return Err(ConfigError::new(format!(
            "JWT_SECRET_KEY must be set when using symmetric algorithm \"{alg_name}\""
        )));
    }
    let wanted = hmac_output_len(alg);
    if secret.len() < wanted {
        let msg = format!(
            "JWT_SECRET_KEY is {} bytes, shorter than the {wanted} bytes {alg_name} needs to resist \
             brute force; generate a random secret of at least {wanted} bytes",
            secret.len()
        );
        if config.strict_key_length {
            return Err(ConfigError::new(msg));
        }
        // Once per process and message: the same secret serves encoding and decoding.
        static WARNED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let mut warned = WARNED.lock().unwrap_or_else(|p| p.into_inner());
        if !warned.contains(&msg) {
            tracing::warn!(target: "jwt_runtime", "{msg}");
            warned.push(msg);
        }
    }
    Ok(secret.as_bytes().to_vec())
}

fn pem<'a>(
    value: &'a Option<String>,
    option: &str,
    alg_name: &str,
) -> Result<&'a [u8], ConfigError> {
    match value.as_deref() {
        Some(v) if !v.trim().is_empty() => Ok(v.as_bytes()),
        _ => Err(ConfigError::new(format!(
            "{option} must be set to use asymmetric cryptography algorithm \"{alg_name}\""
        ))),
    }
}

fn key_error(option: &str, alg_name: &str, e: jsonwebtoken::errors::Error) -> ConfigError {
    ConfigError::new(format!(
        "{option} is not a valid PEM key for \"{alg_name}\": {e}"
    ))
}

fn encoding_key(
    config: &JwtConfig,
    name: &str,
    alg: Algorithm,
) -> Result<EncodingKey, ConfigError> {
    if is_hmac(alg) {
        return Ok(EncodingKey::from_secret(&secret_for(config, name, alg)?));
    }
    let key = pem(&config.private_key, "JWT_PRIVATE_KEY", name)?;
    let parsed = match alg {
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(key),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(key),
        _ => EncodingKey::from_rsa_pem(key),
    };
    parsed.map_err(|e| key_error("JWT_PRIVATE_KEY", name, e))
}

fn decoding_key(
    config: &JwtConfig,
    name: &str,
    alg: Algorithm,
) -> Result<DecodingKey, ConfigError> {
    if is_hmac(alg) {
        return Ok(DecodingKey::from_secret(&secret_for(config, name, alg)?));
    }
    let key = pem(&config.public_key, "JWT_PUBLIC_KEY", name)?;
    let parsed = match alg {
        Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(key),
        Algorithm::EdDSA => DecodingKey::from_ed_pem(key),
        _ => DecodingKey::from_rsa_pem(key),
    };
    parsed.map_err(|e| key_error("JWT_PUBLIC_KEY", name, e))
}

impl KeySet {
    pub(crate) fn from_config(config: &JwtConfig) -> Result<Self, ConfigError> {
        let algorithm = parse_algorithm("JWT_ALGORITHM", &config.algorithm)?;
        let encoding = encoding_key(config, &config.algorithm, algorithm)?;
        // As the reference: the decode list defaults to [JWT_ALGORITHM], and JWT_ALGORITHM is
        // always allowed.
        let mut names: Vec<String> = config.decode_algorithms.clone().unwrap_or_default();
        if !names.contains(&config.algorithm) {
            names.push(config.algorithm.clone());
        }
        let mut decoding = Vec::with_capacity(names.len());
        for name in names {
            if decoding.iter().any(|(n, _, _)| *n == name) {
                continue;
            }
            let alg = parse_algorithm("JWT_DECODE_ALGORITHMS", &name)?;
            let key = decoding_key(config, &name, alg)?;
            decoding.push((name, alg, key));
        }
        Ok(KeySet {
            algorithm,
            encoding,
            algorithm_name: config.algorithm.clone(),
            decoding,
        })
    }

    /// The key for a header `alg`, if that algorithm is allowed.
    pub(crate) fn decoding_for(&self, alg: &str) -> Option<(Algorithm, &DecodingKey)> {
        self.decoding
            .iter()
            .find(|(n, _, _)| n == alg)
            .map(|(_, a, k)| (*a, k))
    }
}
