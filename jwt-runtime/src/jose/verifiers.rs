//! Signature verifiers built once per key, per thread.
//!
//! `jsonwebtoken::crypto::verify` asks the crypto provider for a new verifier on every call (for
//! HMAC that is the key schedule: two hash blocks before the message is even read) and decodes
//! the signature again. Here the verifier of each key is built once and kept: the provider's
//! verifiers are not `Send + Sync`, so each thread keeps its own, in a small thread-local table
//! keyed by the key's [`KeyId`]. Every [`DecodeKey`](super::keys::DecodeKey) gets a new id when
//! it is built from its material, so two keys (or two managers' keys, or two fetches of a remote
//! key set) never share a verifier; a clone of a key set keeps the ids of the same material.
//!
//! The table is only used when this crate installed jsonwebtoken's provider itself
//! ([`known_provider`]): jsonwebtoken does not say which provider an application installed
//! before it, and a verifier must come from the installed one. Otherwise each call goes through
//! `jsonwebtoken::crypto::verify`, as before.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier};
use jsonwebtoken::{Algorithm, DecodingKey};

/// The identity of one key's material, unique in the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyId(u64);

impl KeyId {
    /// A new id, never given out before.
    pub(crate) fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        KeyId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// The provider this crate installed, when it was the one to install it.
static KNOWN_PROVIDER: OnceLock<Option<&'static CryptoProvider>> = OnceLock::new();

/// Records which provider is installed: `Some` when this crate installed it.
pub(crate) fn set_known_provider(provider: Option<&'static CryptoProvider>) {
    let _ = KNOWN_PROVIDER.set(provider);
}

/// The installed provider, when this crate knows which one it is.
pub(crate) fn known_provider() -> Option<&'static CryptoProvider> {
    KNOWN_PROVIDER.get().copied().flatten()
}

/// Verifiers kept per thread; past this many keys the table starts over (a remote key set
/// refetched for hours must not grow it without bound).
const MAX_VERIFIERS: usize = 64;

type Table = Vec<(KeyId, Algorithm, Box<dyn JwtVerifier>)>;

thread_local! {
    static VERIFIERS: RefCell<Table> = const { RefCell::new(Vec::new()) };
}

/// Whether `signature` (already base64url-decoded) is `key`'s signature of `message` under
/// `alg`. With an `id`, the verifier of that key is built once per thread and reused.
pub(crate) fn verify(
    id: Option<KeyId>,
    alg: Algorithm,
    key: &DecodingKey,
    message: &[u8],
    signature: Vec<u8>,
    encoded_signature: &str,
) -> bool {
    let Some(provider) = known_provider() else {
        return jsonwebtoken::crypto::verify(encoded_signature, message, key, alg).unwrap_or(false);
    };
    let Some(id) = id else {
        return (provider.verifier_factory)(&alg, key)
            .is_ok_and(|verifier| verifier.verify(message, &signature).is_ok());
    };
    VERIFIERS.with(|table| {
        let Ok(mut table) = table.try_borrow_mut() else {
            // Re-entered (cannot happen: nothing below calls back here); stay correct anyway.
            return (provider.verifier_factory)(&alg, key)
                .is_ok_and(|verifier| verifier.verify(message, &signature).is_ok());
        };
        if let Some((_, _, verifier)) = table.iter().find(|(i, a, _)| *i == id && *a == alg) {
            return verifier.verify(message, &signature).is_ok();
        }
        let Ok(verifier) = (provider.verifier_factory)(&alg, key) else {
            return false;
        };
        let valid = verifier.verify(message, &signature).is_ok();
        if table.len() >= MAX_VERIFIERS {
            table.clear();
        }
        table.push((id, alg, verifier));
        valid
    })
}

/// How many verifiers this thread keeps (for tests).
#[cfg(test)]
pub(crate) fn kept() -> usize {
    VERIFIERS.with(|table| table.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    fn signed(secret: &str, message: &[u8]) -> (Vec<u8>, String) {
        let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
        let encoded =
            jsonwebtoken::crypto::sign(message, &key, Algorithm::HS256).unwrap_or_default();
        let raw = URL_SAFE_NO_PAD.decode(&encoded).unwrap_or_default();
        (raw, encoded)
    }

    #[test]
    fn each_key_keeps_its_own_verifier() {
        super::super::keys::install_crypto_provider();
        assert!(
            known_provider().is_some(),
            "the crate installed the provider"
        );
        let a = (
            KeyId::fresh(),
            DecodingKey::from_secret(b"secret a, 32 bytes long........."),
        );
        let b = (
            KeyId::fresh(),
            DecodingKey::from_secret(b"secret b, 32 bytes long........."),
        );
        let message = b"header.payload";
        let (sig_a, enc_a) = signed("secret a, 32 bytes long.........", message);
        let (sig_b, enc_b) = signed("secret b, 32 bytes long.........", message);
        let before = kept();
        for _ in 0..3 {
            // Alternating keys on one thread: a verifier kept for one key never answers for
            // the other.
            assert!(verify(
                Some(a.0),
                Algorithm::HS256,
                &a.1,
                message,
                sig_a.clone(),
                &enc_a
            ));
            assert!(!verify(
                Some(a.0),
                Algorithm::HS256,
                &a.1,
                message,
                sig_b.clone(),
                &enc_b
            ));
            assert!(verify(
                Some(b.0),
                Algorithm::HS256,
                &b.1,
                message,
                sig_b.clone(),
                &enc_b
            ));
            assert!(!verify(
                Some(b.0),
                Algorithm::HS256,
                &b.1,
                message,
                sig_a.clone(),
                &enc_a
            ));
            // Same id, another algorithm: another verifier (HS384 over an HS256 signature fails).
            assert!(!verify(
                Some(a.0),
                Algorithm::HS384,
                &a.1,
                message,
                sig_a.clone(),
                &enc_a
            ));
        }
        assert_eq!(kept(), before + 3);
        assert!(!verify(
            Some(a.0),
            Algorithm::HS256,
            &a.1,
            b"header.payloaX",
            sig_a.clone(),
            &enc_a
        ));
        // Without an id: built for the call, same answers.
        assert!(verify(
            None,
            Algorithm::HS256,
            &a.1,
            message,
            sig_a.clone(),
            &enc_a
        ));
        assert!(!verify(
            None,
            Algorithm::HS256,
            &b.1,
            message,
            sig_a.clone(),
            &enc_a
        ));
    }

    #[test]
    fn the_table_is_bounded() {
        super::super::keys::install_crypto_provider();
        let key = DecodingKey::from_secret(b"secret c, 32 bytes long.........");
        let (sig, enc) = signed("secret c, 32 bytes long.........", b"m");
        for _ in 0..(MAX_VERIFIERS * 3) {
            assert!(verify(
                Some(KeyId::fresh()),
                Algorithm::HS256,
                &key,
                b"m",
                sig.clone(),
                &enc
            ));
            assert!(kept() <= MAX_VERIFIERS);
        }
    }

    #[test]
    fn a_key_of_another_family_is_refused_not_a_panic() {
        super::super::keys::install_crypto_provider();
        let key = DecodingKey::from_secret(b"secret d, 32 bytes long.........");
        let (sig, enc) = signed("secret d, 32 bytes long.........", b"m");
        assert!(!verify(
            Some(KeyId::fresh()),
            Algorithm::RS256,
            &key,
            b"m",
            sig.clone(),
            &enc
        ));
        assert!(!verify(
            None,
            Algorithm::ES256,
            &key,
            b"m",
            sig.clone(),
            &enc
        ));
    }
}
