//! DPoP proofs (RFC 9449 section 4.3), verified as pure functions of the proof, the request's
//! method and URL, the presented token and the time: [`verify_proof`]. What needs the request or
//! a store (the header, the public URL, nonces, the replay record) is the engine's.
//!
//! Every check is refused with its own message ([`JwtError::InvalidDpopProof`]), in this order:
//! one compact JWS of bounded size; header `typ` `dpop+jwt`; `alg` in the allow-list (never `none`
//! or an HMAC); no `crit`; a `jwk` with the public key only (checked in the raw JSON, for every
//! private member) whose type and curve fit the `alg`; the signature with that key; then the
//! claims: `jti`, `htm`, `htu`, `iat` within the window and `ath` when a token was presented.

use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::htu;
use super::json::parse_object;
use super::keys::PRIVATE_JWK_MEMBERS;
use crate::vocabulary::{JsonObject, JwtError};

/// The longest proof read at all, in bytes (an RSA-4096 proof is about 1.5 KB).
pub(crate) const MAX_PROOF_LENGTH: usize = 8192;

/// The longest `jti` accepted (RFC 9449 suggests 96 bits of randomness: ~22 characters).
pub(crate) const MAX_PROOF_JTI_LENGTH: usize = 256;

/// A DPoP proof that passed every check of RFC 9449 section 4.3 on this request: the client
/// holds the private key of [`jwk`](Self::jwk), whose RFC 7638 thumbprint is
/// [`thumbprint`](Self::thumbprint).
///
/// A Poem extractor: on a route the pipeline protected under DPoP it is the proof the pipeline
/// verified; on an unprotected route (a login) it verifies the request's `DPoP` header itself
/// (every check but `ath`, the replay recorded). Where a proof is optional take
/// [`OptionalDpopProof`](crate::OptionalDpopProof): `None` only when no `DPoP` header was sent, a
/// sent proof that fails is refused. (Not `Option<DpopProof>`: poem answers `None` for a missing
/// *or invalid* proof there, so a bad proof would silently get unbound tokens.) Only the library
/// makes one, so a handler cannot bind a token to a
/// key the client did not prove: [`TokenBuilder::bind`](crate::TokenBuilder::bind),
/// [`Login::bind`](crate::Login::bind).
///
/// ```no_run
/// use jwt_runtime::{DpopProof, JwtManager};
/// use poem::{handler, web::Json};
/// use serde_json::{json, Value};
///
/// #[handler]
/// async fn login(jwt: JwtManager, proof: DpopProof) -> poem::Result<Json<Value>> {
///     let access = jwt.create_access_token("alice").bind(&proof).await?;
///     Ok(Json(json!({"access_token": access, "token_type": "DPoP"})))
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopProof {
    thumbprint: String,
    jwk: Value,
    pub(crate) jti: String,
    pub(crate) iat: i64,
    pub(crate) nonce: Option<String>,
}

impl DpopProof {
    /// The RFC 7638 thumbprint (SHA-256, base64url) of the proof's key: the `jkt` a bound
    /// token's `cnf` claim carries.
    ///
    /// ```no_run
    /// # fn demo(proof: jwt_runtime::DpopProof) {
    /// assert_eq!(proof.thumbprint().len(), 43);
    /// # }
    /// ```
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The proof's public key, as the client sent it in the header's `jwk`.
    ///
    /// ```no_run
    /// # fn demo(proof: jwt_runtime::DpopProof) {
    /// let kty = proof.jwk()["kty"].as_str();
    /// assert!(matches!(kty, Some("EC" | "RSA" | "OKP")));
    /// # }
    /// ```
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }
}

/// What a proof is checked against, from the config.
#[derive(Debug, Clone)]
pub(crate) struct ProofRules {
    /// `JWT_DPOP_ALGORITHMS`.
    pub(crate) algorithms: Vec<Algorithm>,
    /// `JWT_DPOP_PROOF_MAX_AGE`: how old `iat` may be, in seconds.
    pub(crate) max_age: u64,
    /// How far in the future `iat` may be (`JWT_DECODE_LEEWAY`, at least 5 s).
    pub(crate) future: u64,
}

/// What a proof is checked against, from the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProofRequest<'a> {
    /// The request's method (`htm`).
    pub(crate) method: &'a str,
    /// The request's public URL, normalised ([`htu::normalize`]).
    pub(crate) url: &'a str,
    /// The access token presented with the proof, whose hash `ath` must be.
    pub(crate) token: Option<&'a str>,
}

fn invalid(message: impl Into<Cow<'static, str>>) -> JwtError {
    JwtError::InvalidDpopProof(message.into())
}

/// base64url(SHA-256(`bytes`)), no padding.
pub(crate) fn sha256_b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(bytes))
}

/// The name of an algorithm as JOSE writes it.
pub(crate) fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        _ => "unsupported",
    }
}

/// Whether a proof's `alg` names `alg`: its JOSE name, and for EdDSA (verified over Ed25519
/// only) also `Ed25519`, its fully specified name (RFC 9864), which current clients (panva's
/// `dpop`) write.
pub(crate) fn names(alg: Algorithm, sent: &str) -> bool {
    alg_name(alg) == sent || (alg == Algorithm::EdDSA && sent == "Ed25519")
}

/// The RFC 7638 thumbprint of a public JWK: SHA-256 of its required members, in lexicographic
/// order, without whitespace, base64url. `None` for a key type this library does not verify
/// proofs with, or a required member that is not a string.
pub(crate) fn thumbprint(jwk: &JsonObject) -> Option<String> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    let canonical = match member("kty")? {
        "EC" => serde_json::json!({
            "crv": member("crv")?, "kty": "EC", "x": member("x")?, "y": member("y")?
        }),
        "RSA" => serde_json::json!({"e": member("e")?, "kty": "RSA", "n": member("n")?}),
        "OKP" => serde_json::json!({"crv": member("crv")?, "kty": "OKP", "x": member("x")?}),
        _ => return None,
    };
    // serde_json writes no whitespace; with `preserve_order` the members stay in the order
    // written above, which is the lexicographic one.
    Some(sha256_b64(canonical.to_string().as_bytes()))
}

/// A base64url member of the JWK, decoded.
fn key_bytes(jwk: &JsonObject, name: &str) -> Result<Vec<u8>, JwtError> {
    jwk.get(name)
        .and_then(Value::as_str)
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .ok_or_else(|| {
            invalid(format!(
                "Invalid DPoP proof: the jwk's \"{name}\" is missing or not base64url"
            ))
        })
}

/// The verification key of `jwk` for `alg`: its type and curve must be the algorithm's, its
/// coordinates of the curve's size, an RSA modulus of at least 2048 bits.
fn decoding_key(jwk: &JsonObject, alg: Algorithm) -> Result<DecodingKey, JwtError> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    let wrong = || {
        invalid(format!(
            "Invalid DPoP proof: the jwk does not fit the algorithm {}",
            alg_name(alg)
        ))
    };
    let key = match alg {
        Algorithm::ES256 | Algorithm::ES384 => {
            let (crv, size) = if alg == Algorithm::ES256 {
                ("P-256", 32)
            } else {
                ("P-384", 48)
            };
            if member("kty") != Some("EC") || member("crv") != Some(crv) {
                return Err(wrong());
            }
            let (x, y) = (key_bytes(jwk, "x")?, key_bytes(jwk, "y")?);
            if x.len() != size || y.len() != size {
                return Err(wrong());
            }
            DecodingKey::from_ec_components(
                member("x").unwrap_or_default(),
                member("y").unwrap_or_default(),
            )
        }
        Algorithm::EdDSA => {
            if member("kty") != Some("OKP") || member("crv") != Some("Ed25519") {
                return Err(wrong());
            }
            if key_bytes(jwk, "x")?.len() != 32 {
                return Err(wrong());
            }
            DecodingKey::from_ed_components(member("x").unwrap_or_default())
        }
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => {
            if member("kty") != Some("RSA") {
                return Err(wrong());
            }
            let n = key_bytes(jwk, "n")?;
            key_bytes(jwk, "e")?;
            let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            if bits < 2048 {
                return Err(invalid(
                    "Invalid DPoP proof: the RSA key is shorter than 2048 bits",
                ));
            }
            DecodingKey::from_rsa_components(
                member("n").unwrap_or_default(),
                member("e").unwrap_or_default(),
            )
        }
        _ => return Err(wrong()),
    };
    key.map_err(|_| invalid("Invalid DPoP proof: the jwk is not a valid public key"))
}

/// Checks `proof` for `request` at `now` (every check of RFC 9449 section 4.3 but the nonce and
/// the replay record, which need the engine and a store): the proof's key and claims.
pub(crate) fn verify_proof(
    proof: &str,
    rules: &ProofRules,
    request: &ProofRequest<'_>,
    now: f64,
) -> Result<DpopProof, JwtError> {
    if proof.len() > MAX_PROOF_LENGTH {
        return Err(invalid("Invalid DPoP proof: too large"));
    }
    let mut parts = proof.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("Invalid DPoP proof: not a compact JWS"));
    };
    let segment = |s: &str, what: &'static str| {
        URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| invalid(format!("Invalid DPoP proof: the {what} is not base64url")))
    };
    let header_bytes = segment(h64, "header")?;
    let header = parse_object(&header_bytes, "header")
        .map_err(|_| invalid("Invalid DPoP proof: the header is not a JSON object"))?;
    let typ = header.get("typ").and_then(Value::as_str);
    if !typ.is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt")) {
        return Err(invalid("Invalid DPoP proof: typ is not dpop+jwt"));
    }
    let alg_name_sent = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(alg) = rules
        .algorithms
        .iter()
        .copied()
        .find(|a| names(*a, alg_name_sent))
    else {
        return Err(invalid("Invalid DPoP proof: the alg is not allowed"));
    };
    if header.contains_key("crit") {
        return Err(invalid("Invalid DPoP proof: crit is not supported"));
    }
    let Some(Value::Object(jwk)) = header.get("jwk") else {
        return Err(invalid("Invalid DPoP proof: the header has no jwk"));
    };
    if let Some(member) = PRIVATE_JWK_MEMBERS.iter().find(|m| jwk.contains_key(**m)) {
        return Err(invalid(format!(
            "Invalid DPoP proof: the jwk holds a private key member \"{member}\""
        )));
    }
    let key = decoding_key(jwk, alg)?;
    let signed = &proof[..h64.len() + 1 + p64.len()];
    segment(s64, "signature")?;
    match jsonwebtoken::crypto::verify(s64, signed.as_bytes(), &key, alg) {
        Ok(true) => {}
        _ => return Err(invalid("Invalid DPoP proof: bad signature")),
    }
    let claims = parse_object(&segment(p64, "payload")?, "payload")
        .map_err(|_| invalid("Invalid DPoP proof: the payload is not a JSON object"))?;
    let text = |name: &'static str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("Invalid DPoP proof: missing claim {name}")))
    };
    let jti = text("jti")?;
    if jti.is_empty() || jti.len() > MAX_PROOF_JTI_LENGTH {
        return Err(invalid("Invalid DPoP proof: jti is empty or too long"));
    }
    if text("htm")? != request.method {
        return Err(invalid(
            "Invalid DPoP proof: htm does not match the request method",
        ));
    }
    if htu::normalize(text("htu")?).as_deref() != Some(request.url) {
        return Err(invalid(
            "Invalid DPoP proof: htu does not match the request URL",
        ));
    }
    let iat = match claims.get("iat").and_then(Value::as_f64) {
        Some(iat) if iat.is_finite() => iat.trunc(),
        _ => return Err(invalid("Invalid DPoP proof: missing claim iat")),
    };
    if iat < now - rules.max_age as f64 {
        return Err(invalid("Invalid DPoP proof: iat is too old"));
    }
    if iat > now + rules.future as f64 {
        return Err(invalid("Invalid DPoP proof: iat is in the future"));
    }
    if let Some(token) = request.token {
        let expected = sha256_b64(token.as_bytes());
        let sent = claims
            .get("ath")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(invalid(
                "Invalid DPoP proof: ath does not match the access token",
            ));
        }
    }
    let nonce = match claims.get("nonce") {
        None => None,
        Some(Value::String(nonce)) => Some(nonce.clone()),
        Some(_) => return Err(invalid("Invalid DPoP proof: nonce is not a string")),
    };
    let thumbprint = thumbprint(jwk)
        .ok_or_else(|| invalid("Invalid DPoP proof: the jwk is not a valid public key"))?;
    Ok(DpopProof {
        thumbprint,
        jwk: Value::Object(jwk.clone()),
        jti: jti.to_string(),
        iat: iat as i64,
        nonce,
    })
}

impl DpopProof {
    /// The replay record's key: SHA-256 of the thumbprint and the `jti`, in hex.
    pub(crate) fn replay_key(&self) -> String {
        let digest = Sha256::new()
            .chain_update(self.thumbprint.as_bytes())
            .chain_update(self.jti.as_bytes())
            .finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9449 section 4.1 (Figure 3): a proof for the token request of its examples.
    const RFC9449_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik\
        VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09r\
        X282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYz\
        ZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0\
        IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK7\
        0nfbV37xRZT3Lg";

    fn rules() -> ProofRules {
        ProofRules {
            algorithms: vec![
                Algorithm::ES256,
                Algorithm::EdDSA,
                Algorithm::PS256,
                Algorithm::RS256,
            ],
            max_age: 60,
            future: 5,
        }
    }

    fn token_request(url: &str) -> ProofRequest<'_> {
        ProofRequest {
            method: "POST",
            url,
            token: None,
        }
    }

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 section 3.1.
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let Value::Object(jwk) = jwk else {
            unreachable!()
        };
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn rfc9449_example_proof_verifies_under_its_clock() {
        crate::jose::keys::install_crypto_provider();
        let url = "https://server.example.com/token";
        let proof = verify_proof(
            RFC9449_PROOF,
            &rules(),
            &token_request(url),
            1_562_262_616.0,
        )
        .expect("the RFC's proof");
        // RFC 9449 section 6.1: the thumbprint of the example key.
        assert_eq!(
            proof.thumbprint(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
        assert_eq!(proof.jti, "-BwC3ESc6acc2lTc");
        assert_eq!(proof.jwk()["crv"], "P-256");
        // The same proof elsewhere, later, for another method, or tampered with.
        let refused = |proof: &str, request: &ProofRequest<'_>, now: f64| match verify_proof(
            proof,
            &rules(),
            request,
            now,
        ) {
            Err(JwtError::InvalidDpopProof(message)) => message.into_owned(),
            other => panic!("refused expected: {other:?}"),
        };
        let at = 1_562_262_616.0;
        assert!(refused(
            RFC9449_PROOF,
            &token_request("https://server.example.com/other"),
            at
        )
        .contains("htu"));
        assert!(refused(
            RFC9449_PROOF,
            &ProofRequest {
                method: "GET",
                ..token_request(url)
            },
            at
        )
        .contains("htm"));
        assert!(refused(RFC9449_PROOF, &token_request(url), at + 61.0).contains("too old"));
        assert!(refused(RFC9449_PROOF, &token_request(url), at - 6.0).contains("future"));
        let with_token = ProofRequest {
            token: Some("a.b.c"),
            ..token_request(url)
        };
        assert!(refused(RFC9449_PROOF, &with_token, at).contains("ath"));
        let mut tampered = RFC9449_PROOF.to_string();
        tampered.pop();
        tampered.push('h');
        assert!(refused(&tampered, &token_request(url), at).contains("signature"));
        let es384_only = ProofRules {
            algorithms: vec![Algorithm::ES384],
            ..rules()
        };
        assert!(verify_proof(RFC9449_PROOF, &es384_only, &token_request(url), at).is_err());
    }

    #[test]
    fn rfc9449_example_access_token_hash() {
        // RFC 9449 section 7.1: the `ath` of the example access token.
        assert_eq!(
            sha256_b64(b"Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
