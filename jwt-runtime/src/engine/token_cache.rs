//! The verified-token cache: a client sends the same token for minutes, so the signature check
//! and the JSON parsing of a token are done once and its verified header and claims shared by
//! every later request that carries the very same bytes.
//!
//! What is cached is only what does not depend on time or on the request: the token passed the
//! JWS layer (algorithm allow-list, key, signature) and its claims parsed. Every request still
//! runs the time checks (`exp`, `nbf`, `iat` against the clock), `aud`/`iss`/`sub`, the CSRF
//! double submit, the token type, freshness, revocation and the policies on the cached claims.
//!
//! A hit means these exact bytes verified before with a key that is still in its set, under the
//! rules of the issuer that verified them: the entry is found by the token's last [`KEY_LENGTH`]
//! bytes (part of its signature: no search for the last dot, a short hash, and an attacker cannot
//! choose a signature that verifies, so entries spread evenly) and the whole token is then
//! compared in full. Each entry records which keys and rules verified it ([`VerifiedBy`]: this
//! app's own, or one trusted issuer's) and shares the verifying key's [`InSet`] flag: when an
//! identity provider's key leaves its set, every token it verified stops hitting at once (one
//! atomic load per hit), and the token is verified again (and refused). Tokens whose key comes
//! from a decode-key loader are never cached (the loader may answer differently). Each manager
//! has its own cache.
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
use crate::jose::keys::InSet;
use crate::vocabulary::VerifiedJwt;

/// Which keys and rules verified a cached token: this app's own (its keys, its remote JWK set,
/// its claim rules), or those of the trusted issuer at this index of the manager's list. A token's
/// bytes select the same one on every request (its `iss`), and a hit is only ever served under
/// the one that verified it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VerifiedBy {
    Own,
    Issuer(usize),
}

/// Longer tokens are verified on every request (they are unusual; this bounds the memory).
pub(crate) const MAX_CACHED_LENGTH: usize = 2048;

/// Verified tokens by token string (each with the location it was first found at, so that the
/// requests carrying it the same way share it).
#[derive(Debug)]
pub(crate) struct VerifiedTokenCache {
    capacity: usize,
    entries: RwLock<Entries>,
}

/// The token's last bytes -> the entry. A keyed hasher faster than SipHash on short keys (the key
/// is hashed on every request).
type Entries = HashMap<Box<[u8]>, Entry, RandomState>;

/// One verified token.
#[derive(Debug)]
struct Entry {
    /// The whole token.
    token: Box<[u8]>,
    verified: Arc<VerifiedJwt>,
    by: VerifiedBy,
    /// Whether the key that verified it is still in its set.
    key: InSet,
}

impl Entry {
    /// Whether the entry can still be served some day: its key is in its set and it has not
    /// expired (`exp` before `expired_before`).
    fn may_serve(&self, expired_before: f64) -> bool {
        self.key.holds()
            && self
                .verified
                .parts()
                .exp()
                .is_none_or(|exp| exp > expired_before)
    }
}

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

    /// The verified token of these exact bytes and what verified it, if they verified before
    /// with a key still in its set: then they are a non-empty run of [plain](all_plain) bytes.
    pub(crate) fn get(&self, token: &[u8]) -> Option<(Arc<VerifiedJwt>, VerifiedBy)> {
        if self.capacity == 0 || token.len() > MAX_CACHED_LENGTH {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        match entries.get(key_of(token)) {
            Some(entry) if *entry.token == *token && entry.key.holds() => {
                Some((entry.verified.clone(), entry.by))
            }
            _ => None,
        }
    }

    /// Remembers that `token` verified into `verified`, by `by`'s keys and rules, with the key
    /// whose flag is `key`. `expired_before`: the time before which an `exp` means the token can
    /// never be accepted again (`now - leeway`). Tokens that are empty or not all
    /// [plain](all_plain) are not kept (no token that verifies is).
    pub(crate) fn insert(
        &self,
        token: &str,
        verified: Arc<VerifiedJwt>,
        by: VerifiedBy,
        key: InSet,
        expired_before: f64,
    ) {
        if self.capacity == 0 || token.len() > MAX_CACHED_LENGTH {
            return;
        }
        if token.is_empty() || !all_plain(token.as_bytes()) {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, entry| entry.may_serve(expired_before));
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        let token = token.as_bytes();
        let entry = Entry {
            token: token.into(),
            verified,
            by,
            key,
        };
        entries.insert(key_of(token).into(), entry);
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

    fn exp(verified: Option<(Arc<VerifiedJwt>, VerifiedBy)>) -> Option<f64> {
        verified.and_then(|(v, _)| v.parts().exp())
    }

    /// `token` verified by this app's own keys, with a key that never leaves.
    fn put(cache: &VerifiedTokenCache, token: &str, verified: Arc<VerifiedJwt>, before: f64) {
        cache.insert(token, verified, VerifiedBy::Own, InSet::new(), before);
    }

    #[test]
    fn a_key_that_leaves_its_set_takes_its_tokens_with_it() {
        let cache = VerifiedTokenCache::new(8);
        let (a, b) = (InSet::new(), InSet::new());
        cache.insert("t.a.1", parts(100.0), VerifiedBy::Own, a.clone(), 0.0);
        cache.insert("t.a.2", parts(100.0), VerifiedBy::Issuer(0), a.clone(), 0.0);
        cache.insert("t.b.1", parts(100.0), VerifiedBy::Issuer(1), b.clone(), 0.0);
        assert_eq!(
            cache.get(b"t.a.2").map(|(_, by)| by),
            Some(VerifiedBy::Issuer(0))
        );
        assert_eq!(
            cache.get(b"t.b.1").map(|(_, by)| by),
            Some(VerifiedBy::Issuer(1))
        );
        a.leave();
        // At once, every token key a verified, whoever's rules they were under; b's stay.
        assert!(cache.get(b"t.a.1").is_none() && cache.get(b"t.a.2").is_none());
        assert!(cache.get(b"t.b.1").is_some());
        // A full cache lets them go before it considers starting over.
        let small = VerifiedTokenCache::new(2);
        let gone = InSet::new();
        small.insert("x", parts(100.0), VerifiedBy::Own, gone.clone(), 0.0);
        put(&small, "y", parts(100.0), 0.0);
        gone.leave();
        put(&small, "z", parts(100.0), 0.0);
        assert_eq!(small.len(), 2);
        assert!(small.get(b"y").is_some() && small.get(b"z").is_some());
    }

    #[test]
    fn a_full_cache_drops_expired_entries_first_then_starts_over() {
        let cache = VerifiedTokenCache::new(2);
        put(&cache, "a", parts(10.0), 0.0);
        put(&cache, "b", parts(100.0), 0.0);
        // Full: "a" expired before 50, so only it leaves.
        put(&cache, "c", parts(100.0), 50.0);
        assert!(cache.get(b"a").is_none());
        assert!(cache.get(b"b").is_some() && cache.get(b"c").is_some());
        // Full and nothing expired: it starts over with the new entry only.
        put(&cache, "d", parts(100.0), 50.0);
        assert_eq!(cache.len(), 1);
        assert!(cache.get(b"d").is_some());
    }

    #[test]
    fn disabled_and_long_tokens_are_never_cached() {
        let off = VerifiedTokenCache::new(0);
        put(&off, "a", parts(10.0), 0.0);
        assert!(off.get(b"a").is_none());
        let on = VerifiedTokenCache::new(8);
        let long = "x".repeat(MAX_CACHED_LENGTH + 1);
        put(&on, &long, parts(10.0), 0.0);
        assert!(on.get(long.as_bytes()).is_none());
        assert_eq!(on.len(), 0);
    }

    #[test]
    fn only_the_exact_bytes_hit() {
        let cache = VerifiedTokenCache::new(8);
        put(&cache, "abc.def.ghi", parts(10.0), 0.0);
        assert!(cache.get(b"abc.def.ghi").is_some());
        assert!(cache.get(b"abc.def.ghj").is_none());
        assert!(cache.get(b"abc.def.gh").is_none());
        // The same signature segment under another header or payload is not the same token.
        assert!(cache.get(b"abc.deg.ghi").is_none());
        assert!(cache.get(b"abd.def.ghi").is_none());
        assert!(cache.get(b"ghi").is_none());
        // A second token with that signature: each hits only itself.
        put(&cache, "xyz.def.ghi", parts(20.0), 0.0);
        assert_eq!(exp(cache.get(b"xyz.def.ghi")), Some(20.0));
        assert_eq!(exp(cache.get(b"abc.def.ghi")), Some(10.0));
    }

    #[test]
    fn tokens_sharing_their_last_bytes_are_told_apart() {
        let cache = VerifiedTokenCache::new(8);
        let tail = "s".repeat(KEY_LENGTH);
        let (one, other) = (format!("a.b.{tail}"), format!("a.c.{tail}"));
        put(&cache, &one, parts(10.0), 0.0);
        assert!(cache.get(one.as_bytes()).is_some());
        assert!(cache.get(other.as_bytes()).is_none());
        assert!(cache.get(tail.as_bytes()).is_none());
        // They share an entry: the second replaces the first, and each still hits only itself.
        put(&cache, &other, parts(20.0), 0.0);
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
            put(&cache, &token, parts(10.0), 0.0);
            assert!(cache.get(token.as_bytes()).is_none(), "{token:?}");
        }
        assert_eq!(cache.len(), 0);
        let plain = format!("a.b~!c.{tail}");
        put(&cache, &plain, parts(10.0), 0.0);
        assert!(cache.get(plain.as_bytes()).is_some());
    }
}
