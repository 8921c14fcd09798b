//! The verified-token cache: a client sends the same token for minutes, so the signature check
//! and the JSON parsing of a token are done once and its verified header and claims shared by
//! every later request that carries the very same bytes.
//!
//! What is cached is only what does not depend on time or on the request: the token passed the
//! JWS layer (algorithm allow-list, key, signature) and its claims parsed. Every request still
//! runs the time checks (`exp`, `nbf`, `iat` against the clock), `aud`/`iss`/`sub`, the CSRF
//! double submit, the token type, freshness, revocation and the policies on the cached claims.
//!
//! A hit means these exact bytes verified before under the same, immutable key set: the entry is
//! found by the token's last [`KEY_LENGTH`] bytes (part of its signature: no search for the last
//! dot, a short hash, and an attacker cannot choose a signature that verifies, so entries spread
//! evenly) and the whole token is then compared in full. Tokens whose key comes from a
//! decode-key loader are never cached (the loader may answer differently).
//!
//! Only tokens of plain bytes ([`all_plain`]: visible ASCII, no comma) are cached, and every
//! token that verifies is one (base64url and dots). So a hit on the bytes that follow `Bearer `
//! in an `Authorization` header means the header is the common `Bearer <token>`, without
//! checking those bytes first.
//!
//! The cache is bounded (`JWT_VERIFIED_TOKEN_CACHE_SIZE` entries, tokens of at most
//! [`MAX_CACHED_LENGTH`] bytes): when it is full, entries past `exp + leeway` leave first, and if
//! none has, it starts over empty, so memory stays flat whatever the traffic.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use foldhash::fast::RandomState;

use super::locate::all_plain;
use crate::vocabulary::VerifiedJwt;

/// Longer tokens are verified on every request (they are unusual; this bounds the memory).
pub(crate) const MAX_CACHED_LENGTH: usize = 2048;

/// Verified tokens by token string (each with the location it was first found at, so that the
/// requests carrying it the same way share it).
#[derive(Debug)]
pub(crate) struct VerifiedTokenCache {
    capacity: usize,
    entries: RwLock<Entries>,
}

/// The token's last bytes -> (the whole token, its verified parts). A keyed hasher faster than
/// SipHash on short keys (the key is hashed on every request).
type Entries = HashMap<Box<[u8]>, (Box<[u8]>, Arc<VerifiedJwt>), RandomState>;

/// How many trailing bytes of a token find its entry: within the signature of every algorithm
/// (HS256's is 43 characters), so tokens that differ only in header or payload share a key and
/// the full comparison tells them apart.
const KEY_LENGTH: usize = 32;

/// The key of `token`: its last [`KEY_LENGTH`] bytes (all of it when shorter).
fn key_of(token: &[u8]) -> &[u8] {
    &token[token.len().saturating_sub(KEY_LENGTH)..]
}

impl VerifiedTokenCache {
    /// A cache of at most `capacity` tokens; 0 disables it.
    pub(crate) fn new(capacity: usize) -> Self {
        VerifiedTokenCache {
            capacity,
            entries: RwLock::new(HashMap::default()),
        }
    }

    /// The verified token of these exact bytes, if they verified before: then they are a
    /// non-empty run of [plain](all_plain) bytes.
    pub(crate) fn get(&self, token: &[u8]) -> Option<Arc<VerifiedJwt>> {
        if self.capacity == 0 || token.len() > MAX_CACHED_LENGTH {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        match entries.get(key_of(token)) {
            Some((known, parts)) if **known == *token => Some(parts.clone()),
            _ => None,
        }
    }

    /// Remembers that `token` verified into `verified`. `expired_before`: the time before which
    /// an `exp` means the token can never be accepted again (`now - leeway`).
    /// Tokens that are empty or not all [plain](all_plain) are not kept (no token that verifies
    /// is).
    pub(crate) fn insert(&self, token: &str, verified: Arc<VerifiedJwt>, expired_before: f64) {
        if self.capacity == 0 || token.len() > MAX_CACHED_LENGTH {
            return;
        }
        if token.is_empty() || !all_plain(token.as_bytes()) {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, (_, verified)| {
                verified
                    .parts()
                    .exp()
                    .is_none_or(|exp| exp > expired_before)
            });
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        let token = token.as_bytes();
        entries.insert(key_of(token).into(), (token.into(), verified));
    }

    /// How many tokens are cached (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::vocabulary::{Location, TokenParts};

    fn parts(exp: f64) -> Arc<VerifiedJwt> {
        let claims = json!({ "exp": exp })
            .as_object()
            .cloned()
            .unwrap_or_default();
        let parts = Arc::new(TokenParts::new(Default::default(), claims, "sub"));
        Arc::new(VerifiedJwt::new(parts, Location::Headers))
    }

    fn exp(verified: Option<Arc<VerifiedJwt>>) -> Option<f64> {
        verified.and_then(|v| v.parts().exp())
    }

    #[test]
    fn a_full_cache_drops_expired_entries_first_then_starts_over() {
        let cache = VerifiedTokenCache::new(2);
        cache.insert("a", parts(10.0), 0.0);
        cache.insert("b", parts(100.0), 0.0);
        // Full: "a" expired before 50, so only it leaves.
        cache.insert("c", parts(100.0), 50.0);
        assert!(cache.get(b"a").is_none());
        assert!(cache.get(b"b").is_some() && cache.get(b"c").is_some());
        // Full and nothing expired: it starts over with the new entry only.
        cache.insert("d", parts(100.0), 50.0);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(b"d").is_some());
    }

    #[test]
    fn disabled_and_long_tokens_are_never_cached() {
        let off = VerifiedTokenCache::new(0);
        off.insert("a", parts(10.0), 0.0);
        assert!(off.get(b"a").is_none());
        let on = VerifiedTokenCache::new(8);
        let long = "x".repeat(MAX_CACHED_LENGTH + 1);
        on.insert(&long, parts(10.0), 0.0);
        assert!(on.get(long.as_bytes()).is_none());
        assert_eq!(on.len(), 0);
    }

    #[test]
    fn only_the_exact_bytes_hit() {
        let cache = VerifiedTokenCache::new(8);
        cache.insert("abc.def.ghi", parts(10.0), 0.0);
        assert!(cache.get(b"abc.def.ghi").is_some());
        assert!(cache.get(b"abc.def.ghj").is_none());
        assert!(cache.get(b"abc.def.gh").is_none());
        // The same signature segment under another header or payload is not the same token.
        assert!(cache.get(b"abc.deg.ghi").is_none());
        assert!(cache.get(b"abd.def.ghi").is_none());
        assert!(cache.get(b"ghi").is_none());
        // A second token with that signature: each hits only itself.
        cache.insert("xyz.def.ghi", parts(20.0), 0.0);
        assert_eq!(exp(cache.get(b"xyz.def.ghi")), Some(20.0));
        assert_eq!(exp(cache.get(b"abc.def.ghi")), Some(10.0));
    }

    #[test]
    fn tokens_sharing_their_last_bytes_are_told_apart() {
        let cache = VerifiedTokenCache::new(8);
        let tail = "s".repeat(KEY_LENGTH);
        let (one, other) = (format!("a.b.{tail}"), format!("a.c.{tail}"));
        cache.insert(&one, parts(10.0), 0.0);
        assert!(cache.get(one.as_bytes()).is_some());
        assert!(cache.get(other.as_bytes()).is_none());
        assert!(cache.get(tail.as_bytes()).is_none());
        // They share an entry: the second replaces the first, and each still hits only itself.
        cache.insert(&other, parts(20.0), 0.0);
        assert_eq!(exp(cache.get(other.as_bytes())), Some(20.0));
        assert!(cache.get(one.as_bytes()).is_none());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn only_plain_tokens_are_cached() {
        let cache = VerifiedTokenCache::new(8);
        // A character of two bytes, a space, a comma, a control byte, nothing at all: no token
        // that verifies has one, and a hit on header bytes relies on it.
        let tail = "s".repeat(KEY_LENGTH);
        for token in [
            format!("a.b.é{tail}"),
            format!("a.b c.{tail}"),
            format!("a.b,c.{tail}"),
            format!("a.b\tc.{tail}"),
            String::new(),
        ] {
            cache.insert(&token, parts(10.0), 0.0);
            assert!(cache.get(token.as_bytes()).is_none(), "{token:?}");
        }
        assert_eq!(cache.len(), 0);
        let plain = format!("a.b~!c.{tail}");
        cache.insert(&plain, parts(10.0), 0.0);
        assert!(cache.get(plain.as_bytes()).is_some());
    }
}
