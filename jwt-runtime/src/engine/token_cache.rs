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
//! found by the token's signature segment (hashing its 43 bytes instead of the whole token; an
//! attacker cannot choose a signature that verifies) and the whole token is then compared in full. Tokens whose key
//! comes from a decode-key loader are never cached (the loader may answer differently). The cache
//! is bounded (`JWT_VERIFIED_TOKEN_CACHE_SIZE` entries, tokens of at most [`MAX_CACHED_LENGTH`]
//! bytes): when it is full, entries past `exp + leeway` leave first, and if none has, it starts
//! over empty, so memory stays flat whatever the traffic.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::vocabulary::TokenParts;

/// Longer tokens are verified on every request (they are unusual; this bounds the memory).
pub(crate) const MAX_CACHED_LENGTH: usize = 2048;

/// Verified header and claims by token string.
#[derive(Debug)]
pub(crate) struct VerifiedTokenCache {
    capacity: usize,
    entries: RwLock<Entries>,
}

/// Signature segment -> (the whole token, its verified parts).
type Entries = HashMap<Box<str>, (Box<str>, Arc<TokenParts>)>;

/// The segment after the last dot (the whole string when there is none).
fn signature_of(token: &str) -> &str {
    token
        .rsplit_once('.')
        .map_or(token, |(_, signature)| signature)
}

impl VerifiedTokenCache {
    /// A cache of at most `capacity` tokens; 0 disables it.
    pub(crate) fn new(capacity: usize) -> Self {
        VerifiedTokenCache {
            capacity,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The verified parts of `token`, if these exact bytes verified before.
    pub(crate) fn get(&self, token: &str) -> Option<Arc<TokenParts>> {
        if self.capacity == 0 || token.len() > MAX_CACHED_LENGTH {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        match entries.get(signature_of(token)) {
            Some((known, parts)) if **known == *token => Some(parts.clone()),
            _ => None,
        }
    }

    /// Remembers that `token` verified into `parts`. `expired_before`: the time before which an
    /// `exp` means the token can never be accepted again (`now - leeway`).
    pub(crate) fn insert(&self, token: &str, parts: Arc<TokenParts>, expired_before: f64) {
        if self.capacity == 0 || token.len() > MAX_CACHED_LENGTH {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, (_, parts)| parts.exp().is_none_or(|exp| exp > expired_before));
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(signature_of(token).into(), (token.into(), parts));
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

    fn parts(exp: f64) -> Arc<TokenParts> {
        let claims = json!({ "exp": exp })
            .as_object()
            .cloned()
            .unwrap_or_default();
        Arc::new(TokenParts::new(Default::default(), claims, "sub"))
    }

    #[test]
    fn a_full_cache_drops_expired_entries_first_then_starts_over() {
        let cache = VerifiedTokenCache::new(2);
        cache.insert("a", parts(10.0), 0.0);
        cache.insert("b", parts(100.0), 0.0);
        // Full: "a" expired before 50, so only it leaves.
        cache.insert("c", parts(100.0), 50.0);
        assert!(cache.get("a").is_none());
        assert!(cache.get("b").is_some() && cache.get("c").is_some());
        // Full and nothing expired: it starts over with the new entry only.
        cache.insert("d", parts(100.0), 50.0);
        assert_eq!(cache.len(), 1);
        assert!(cache.get("d").is_some());
    }

    #[test]
    fn disabled_and_long_tokens_are_never_cached() {
        let off = VerifiedTokenCache::new(0);
        off.insert("a", parts(10.0), 0.0);
        assert!(off.get("a").is_none());
        let on = VerifiedTokenCache::new(8);
        let long = "x".repeat(MAX_CACHED_LENGTH + 1);
        on.insert(&long, parts(10.0), 0.0);
        assert!(on.get(&long).is_none());
        assert_eq!(on.len(), 0);
    }

    #[test]
    fn only_the_exact_bytes_hit() {
        let cache = VerifiedTokenCache::new(8);
        cache.insert("abc.def.ghi", parts(10.0), 0.0);
        assert!(cache.get("abc.def.ghi").is_some());
        assert!(cache.get("abc.def.ghj").is_none());
        assert!(cache.get("abc.def.gh").is_none());
        // The same signature segment under another header or payload is not the same token.
        assert!(cache.get("abc.deg.ghi").is_none());
        assert!(cache.get("abd.def.ghi").is_none());
        assert!(cache.get("ghi").is_none());
        // A second token with that signature replaces the first; each still hits only itself.
        cache.insert("xyz.def.ghi", parts(20.0), 0.0);
        assert!(cache.get("xyz.def.ghi").is_some());
        assert!(cache.get("abc.def.ghi").is_none());
    }
}
