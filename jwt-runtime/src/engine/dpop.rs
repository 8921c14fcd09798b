//! DPoP at the engine: the `JWT_DPOP_*` options resolved once ([`DpopSettings`]), the request's
//! proof read from exactly one `DPoP` header and checked against the request's public URL
//! ([`Engine::request_proof`]), and stateless server nonces (RFC 9449 section 8): the issue time
//! sealed with an HMAC any instance sharing the secret can open, valid for
//! `JWT_DPOP_NONCE_LIFETIME`.

use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::Algorithm;
use poem::http::header::HOST;
use poem::Request;
use sha2::Sha256;

use super::Engine;
use crate::config::JwtConfig;
use crate::jose::dpop::{alg_name, verify_proof, DpopProof, ProofRequest, ProofRules};
use crate::jose::htu;
use crate::revocation::ProofRecord;
use crate::vocabulary::{ConfigError, DpopMode, JwtError};

/// The request header carrying the proof.
pub(crate) const DPOP_HEADER: &str = "dpop";

/// The response header carrying a fresh nonce.
pub(crate) const DPOP_NONCE_HEADER: &str = "dpop-nonce";

/// The `Authorization` scheme of DPoP-bound tokens.
pub(crate) const DPOP_SCHEME: &str = "DPoP";

/// How far in the future a proof's `iat` may always be, whatever `JWT_DECODE_LEEWAY`.
const MIN_FUTURE_SECONDS: u64 = 5;

/// The shortest `JWT_DPOP_NONCE_SECRET`, in bytes.
const MIN_NONCE_SECRET: usize = 32;

/// The label of the nonce key derived from `JWT_SECRET_KEY`.
const NONCE_KEY_LABEL: &[u8] = b"jwt-runtime DPoP nonce key v1";

/// The sealed part of a nonce: 16 bytes of its HMAC.
const NONCE_TAG: usize = 16;

/// The DPoP options, resolved and checked once.
#[derive(Clone)]
pub(crate) struct DpopSettings {
    /// `JWT_DPOP`: the policy of routes that set none.
    pub(crate) mode: DpopMode,
    /// `JWT_DPOP_PUBLIC_URL`, normalised, without a trailing `/`.
    public_url: Option<String>,
    pub(crate) rules: ProofRules,
    /// The `algs` of the `WWW-Authenticate: DPoP` challenges.
    pub(crate) algs: String,
    /// The key sealing nonces, when `JWT_DPOP_NONCE` is on.
    nonce_key: Option<[u8; 32]>,
    nonce_lifetime: u64,
}

impl std::fmt::Debug for DpopSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopSettings")
            .field("mode", &self.mode)
            .field("public_url", &self.public_url)
            .field("algs", &self.algs)
            .field("nonces", &self.nonce_key.is_some())
            .finish_non_exhaustive()
    }
}

type HmacSha256 = Hmac<Sha256>;

/// An HMAC-SHA256 under `key` (HMAC takes keys of any length: `None` never happens).
fn hmac(key: &[u8]) -> Option<HmacSha256> {
    HmacSha256::new_from_slice(key).ok()
}

impl DpopSettings {
    /// Resolves the `JWT_DPOP_*` options; a bad one is an error naming it.
    pub(crate) fn resolve(config: &JwtConfig) -> Result<Self, ConfigError> {
        let mut algorithms = Vec::new();
        for name in &config.dpop_algorithms {
            let name = name.trim();
            // `Ed25519` (RFC 9864) is EdDSA as this library verifies it.
            let jose_name = if name == "Ed25519" { "EdDSA" } else { name };
            let alg = Algorithm::from_str(jose_name)
                .ok()
                .filter(|a| alg_name(*a) == jose_name);
            match alg {
                Some(Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) | None => {
                    return Err(ConfigError::new(
                        "JWT_DPOP_ALGORITHMS",
                        format!(
                            "\"{name}\" is not a DPoP proof algorithm (asymmetric only: ES256, \
                             ES384, EdDSA, RS256, RS384, RS512, PS256, PS384, PS512; never none or HS*)"
                        ),
                    ))
                }
                Some(alg) if !algorithms.contains(&alg) => algorithms.push(alg),
                Some(_) => {}
            }
        }
        if algorithms.is_empty() {
            return Err(ConfigError::sentence(
                "JWT_DPOP_ALGORITHMS",
                "cannot be empty",
            ));
        }
        if config.dpop_proof_max_age == 0 {
            return Err(ConfigError::sentence(
                "JWT_DPOP_PROOF_MAX_AGE",
                "must be greater than 0",
            ));
        }
        let public_url = match config.dpop_public_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => Some(public_base(url)?),
        };
        if public_url.is_none() && config.dpop.is_on() {
            tracing::warn!(
                target: "jwt_runtime",
                "JWT_DPOP is on without JWT_DPOP_PUBLIC_URL: only requests to a loopback Host \
                 (development) can carry DPoP proofs; set it to the URL clients call"
            );
        }
        let nonce_key = if config.dpop_nonce {
            if config.dpop_nonce_lifetime == 0 {
                return Err(ConfigError::sentence(
                    "JWT_DPOP_NONCE_LIFETIME",
                    "must be greater than 0",
                ));
            }
            Some(nonce_key(config)?)
        } else {
            None
        };
        Ok(DpopSettings {
            mode: config.dpop,
            public_url,
            algs: algorithms
                .iter()
                .map(|a| match a {
                    Algorithm::EdDSA => "EdDSA Ed25519",
                    _ => alg_name(*a),
                })
                .collect::<Vec<_>>()
                .join(" "),
            rules: ProofRules {
                algorithms,
                max_age: config.dpop_proof_max_age,
                future: config.decode_leeway.max(MIN_FUTURE_SECONDS),
            },
            nonce_key,
            nonce_lifetime: config.dpop_nonce_lifetime,
        })
    }

    /// The DPoP policy of a route: its own, or `JWT_DPOP`.
    pub(crate) fn mode_of(&self, route: Option<DpopMode>) -> DpopMode {
        route.unwrap_or(self.mode)
    }

    /// The normalised URL a proof's `htu` must name for `req`: `JWT_DPOP_PUBLIC_URL` joined to
    /// the request's original path; without it, `http://<Host><path>` for a loopback `Host`.
    fn expected_url(&self, req: &Request) -> Result<String, JwtError> {
        let path = request_path(req);
        let url = match &self.public_url {
            Some(base) => format!("{base}{path}"),
            None => {
                let host = req
                    .headers()
                    .get(HOST)
                    .and_then(|h| h.to_str().ok())
                    .or_else(|| req.original_uri().authority().map(|a| a.as_str()))
                    .unwrap_or_default();
                if !is_loopback(host) {
                    tracing::error!(target: "jwt_runtime", "a DPoP proof cannot be checked: set JWT_DPOP_PUBLIC_URL (only loopback hosts are compared without it)");
                    return Err(JwtError::InvalidDpopProof(
                        "Invalid DPoP proof: the server has no public URL to compare htu with"
                            .into(),
                    ));
                }
                format!("http://{host}{path}")
            }
        };
        htu::normalize(&url).ok_or_else(|| {
            JwtError::InvalidDpopProof(
                "Invalid DPoP proof: the request URL cannot be compared".into(),
            )
        })
    }

    /// Whether nonces are required.
    pub(crate) fn nonces(&self) -> bool {
        self.nonce_key.is_some()
    }

    /// A fresh nonce issued at `now`, when nonces are on.
    pub(crate) fn nonce(&self, now: f64) -> Option<String> {
        let key = self.nonce_key.as_ref()?;
        let issued = (now.max(0.0) as u64).to_be_bytes();
        let tag = seal(key, &issued)?;
        let mut bytes = issued.to_vec();
        bytes.extend_from_slice(&tag[..NONCE_TAG]);
        Some(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A fresh nonce for the response to a request whose proof's nonce is past half its
    /// lifetime, so a client keeps a valid one without a `use_dpop_nonce` round trip. `None`
    /// while nonces are off or the proof's is recent.
    pub(crate) fn renewed_nonce(&self, proof: &DpopProof, now: f64) -> Option<String> {
        let issued = proof.nonce.as_deref().and_then(nonce_issued_at)?;
        (now - issued > self.nonce_lifetime as f64 / 2.0)
            .then(|| self.nonce(now))
            .flatten()
    }

    /// Whether `nonce` is one of ours, issued at most `JWT_DPOP_NONCE_LIFETIME` ago.
    fn nonce_is_valid(&self, nonce: &str, now: f64) -> bool {
        let Some(key) = &self.nonce_key else {
            return true;
        };
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let Some((issued, tag)) = bytes.split_first_chunk::<8>() else {
            return false;
        };
        if tag.len() != NONCE_TAG {
            return false;
        }
        let Some(mut mac) = hmac(key) else {
            return false;
        };
        mac.update(b"dpop-nonce");
        mac.update(issued);
        if mac.verify_truncated_left(tag).is_err() {
            return false;
        }
        let issued = u64::from_be_bytes(*issued) as f64;
        issued <= now + MIN_FUTURE_SECONDS as f64 && now - issued <= self.nonce_lifetime as f64
    }
}

/// The request's path as the client sent it, before any route nesting stripped a prefix, as the
/// manager's middleware saw it (recorded only on requests with a proof).
#[derive(Debug, Clone)]
pub(crate) struct RequestPath(pub(crate) String);

/// The path a proof's `htu` names: the request's original path (poem's `original_uri`, set by
/// the server), or, for a request that did not come through a server (poem's test client), the
/// path the outermost manager middleware saw.
fn request_path(req: &Request) -> &str {
    let original = req.original_uri();
    if *original != poem::http::Uri::default() {
        return original.path();
    }
    match req.extensions().get::<RequestPath>() {
        Some(RequestPath(path)) => path,
        None => req.uri().path(),
    }
}

/// The issue time a nonce states (its seal is checked by `nonce_is_valid`, before this is asked).
fn nonce_issued_at(nonce: &str) -> Option<f64> {
    let bytes = URL_SAFE_NO_PAD.decode(nonce).ok()?;
    let (issued, _) = bytes.split_first_chunk::<8>()?;
    Some(u64::from_be_bytes(*issued) as f64)
}

/// The HMAC of a nonce's issue time.
fn seal(key: &[u8; 32], issued: &[u8; 8]) -> Option<[u8; 32]> {
    let mut mac = hmac(key)?;
    mac.update(b"dpop-nonce");
    mac.update(issued);
    Some(mac.finalize().into_bytes().into())
}

/// `JWT_DPOP_PUBLIC_URL` checked and normalised, without a trailing `/`.
fn public_base(url: &str) -> Result<String, ConfigError> {
    let bad = |why: &str| ConfigError::new("JWT_DPOP_PUBLIC_URL", format!("\"{url}\" {why}"));
    if url.contains('?') || url.contains('#') {
        return Err(bad("must not have a query or a fragment"));
    }
    let normal = htu::normalize(url)
        .ok_or_else(|| bad("is not an absolute http(s) URL (like https://api.example.com)"))?;
    Ok(normal.trim_end_matches('/').to_string())
}

/// The key sealing nonces: `JWT_DPOP_NONCE_SECRET`, or one derived from `JWT_SECRET_KEY`.
fn nonce_key(config: &JwtConfig) -> Result<[u8; 32], ConfigError> {
    let (secret, label): (&[u8], &[u8]) = match (&config.dpop_nonce_secret, &config.secret_key) {
        (Some(secret), _) if secret.len() < MIN_NONCE_SECRET => {
            return Err(ConfigError::sentence(
                "JWT_DPOP_NONCE_SECRET",
                format!("must be at least {MIN_NONCE_SECRET} bytes"),
            ))
        }
        (Some(secret), _) => (secret.as_bytes(), b"jwt-runtime DPoP nonce secret"),
        (None, Some(secret)) if !secret.is_empty() => (secret.as_bytes(), NONCE_KEY_LABEL),
        (None, _) => {
            return Err(ConfigError::sentence(
                "JWT_DPOP_NONCE",
                "needs JWT_DPOP_NONCE_SECRET (at least 32 bytes, the same on every instance) \
                 or JWT_SECRET_KEY to seal nonces",
            ))
        }
    };
    let mut mac = hmac(secret)
        .ok_or_else(|| ConfigError::sentence("JWT_DPOP_NONCE_SECRET", "cannot key an HMAC"))?;
    mac.update(label);
    Ok(mac.finalize().into_bytes().into())
}

/// Whether `host` (a `Host` header, with or without a port) names this machine.
fn is_loopback(host: &str) -> bool {
    let name = if host.starts_with('[') {
        host.split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h).to_string()
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name == "[::1]"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Engine {
    /// The request's DPoP proof, verified (RFC 9449 section 4.3: exactly one `DPoP` header,
    /// every check of [`verify_proof`], `ath` against `token` when one was presented, the
    /// nonce when nonces are on), not yet recorded: that is the last step of a request
    /// ([`Engine::proof_record`]). `at_token_endpoint`: a missing nonce is answered 400.
    pub(crate) fn request_proof(
        &self,
        req: &Request,
        token: Option<&str>,
        at_token_endpoint: bool,
    ) -> Result<DpopProof, JwtError> {
        let dpop = &self.settings.dpop;
        let mut headers = req.headers().get_all(DPOP_HEADER).iter();
        let (Some(value), None) = (headers.next(), headers.next()) else {
            let message = if req.headers().contains_key(DPOP_HEADER) {
                "Invalid DPoP proof: more than one DPoP header"
            } else {
                "Invalid DPoP proof: missing DPoP header"
            };
            return Err(JwtError::InvalidDpopProof(message.into()));
        };
        let proof = value
            .to_str()
            .map_err(|_| JwtError::InvalidDpopProof("Invalid DPoP proof: not ASCII".into()))?;
        let url = dpop.expected_url(req)?;
        let request = ProofRequest {
            method: req.method().as_str(),
            url: &url,
            token,
        };
        let now = self.now();
        let proof = verify_proof(proof.trim(), &dpop.rules, &request, now)?;
        if dpop.nonces()
            && !proof
                .nonce
                .as_deref()
                .is_some_and(|n| dpop.nonce_is_valid(n, now))
        {
            return Err(JwtError::UseDpopNonce {
                nonce: dpop.nonce(now).unwrap_or_default(),
                at_token_endpoint,
            });
        }
        Ok(proof)
    }

    /// What the store records of an accepted proof: it cannot be accepted again while its
    /// `iat` keeps it acceptable.
    pub(crate) fn proof_record(&self, proof: &DpopProof) -> ProofRecord {
        let max_age = i64::try_from(self.settings.dpop.rules.max_age).unwrap_or(i64::MAX);
        ProofRecord {
            key: proof.replay_key(),
            retain_until: proof.iat.saturating_add(max_age),
        }
    }
}
