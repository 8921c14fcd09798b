//! DPoP proofs (RFC 9449) signed with the tests' keys, for the DPoP load run
//! (`benches/load/dpop_proofs.rs`) and the criterion benches (`benches/guard.rs`): a header
//! `{"typ": "dpop+jwt", "alg", "jwk"}` and the claims `jti`, `htm`, `htu`, `iat` and, with a
//! token, `ath` (as `tests/dpop.rs` builds them).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};
use sha2::Digest as _;

/// A client's DPoP key: the private key that signs, the public JWK every proof carries.
pub struct ProofKey {
    alg: Algorithm,
    signing: EncodingKey,
    /// The base64url of the proofs' JOSE header (the same for every proof of this key).
    header: String,
}

impl ProofKey {
    /// The key of `name` (`ES256`: the P-256 test key, `EdDSA`: the Ed25519 one).
    pub fn named(name: &str) -> Option<ProofKey> {
        match name {
            "ES256" => Some(ProofKey::new(
                Algorithm::ES256,
                "ES256",
                EncodingKey::from_ec_pem(include_bytes!("../../tests/keys/ec256.pem")).ok()?,
            )),
            "EdDSA" => Some(ProofKey::new(
                Algorithm::EdDSA,
                "EdDSA",
                EncodingKey::from_ed_pem(include_bytes!("../../tests/keys/ed25519.pem")).ok()?,
            )),
            _ => None,
        }
    }

    fn new(alg: Algorithm, name: &'static str, signing: EncodingKey) -> ProofKey {
        let jwk = Jwk::from_encoding_key(&signing, alg).expect("a public JWK of the test key");
        let mut jwk = serde_json::to_value(jwk).expect("JWK as JSON");
        if let Some(map) = jwk.as_object_mut() {
            map.retain(|k, _| matches!(k.as_str(), "kty" | "crv" | "x" | "y"));
        }
        let header = json!({"typ": "dpop+jwt", "alg": name, "jwk": jwk}).to_string();
        ProofKey {
            alg,
            signing,
            header: URL_SAFE_NO_PAD.encode(header),
        }
    }

    /// A proof for `method` `url` issued at `iat` (unix seconds) with the unique `jti`, bound to
    /// `token` (its `ath`) when given.
    pub fn proof(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        jti: &str,
        iat: i64,
    ) -> String {
        let mut claims = json!({"jti": jti, "htm": method, "htu": url, "iat": iat});
        if let Some(token) = token {
            claims["ath"] = Value::from(URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(token)));
        }
        let input = format!(
            "{}.{}",
            self.header,
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &self.signing, self.alg)
            .expect("signing with the test key");
        format!("{input}.{sig}")
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
