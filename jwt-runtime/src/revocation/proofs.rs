//! DPoP replay records (RFC 9449 §11.1): each proof is accepted once, on any instance that shares
//! the store, for as long as its `iat` keeps it acceptable.

use std::collections::{HashMap, VecDeque};

use crate::vocabulary::BlocklistError;

/// A DPoP proof to remember, so that the same proof is accepted once
/// ([`Blocklist::record_proof`](super::Blocklist::record_proof)).
///
/// ```
/// use jwt_runtime::stores::ProofRecord;
/// let record = ProofRecord { key: "ab".repeat(32), retain_until: 1_700_000_060 };
/// assert_eq!(record.key.len(), 64);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProofRecord {
    /// Names the proof: 64 lowercase hex digits (SHA-256 of the proof key's RFC 7638 thumbprint
    /// and the proof's `jti`), of a fixed size whatever the client sent.
    pub key: String,
    /// Unix seconds after which the proof can no longer be accepted (its `iat` plus the
    /// acceptance window): the record may go then, not before.
    pub retain_until: i64,
}

/// How many proofs the in-memory store holds at most: at the cap, with none expired, a new proof
/// is refused (fail closed) rather than an unexpired one forgotten.
pub const MAX_MEMORY_PROOFS: usize = 1 << 20;

/// Proofs held in memory: a map for the replay check, a queue in arrival order for dropping
/// expired ones from the front (amortised O(1) per proof, whatever the flood).
#[derive(Debug, Default)]
pub(crate) struct ProofLog {
    seen: HashMap<String, i64>,
    arrivals: VecDeque<(i64, String)>,
}

impl ProofLog {
    /// Records `proof` at `now`: `Ok(true)` the first time, `Ok(false)` for a replay, an error
    /// when `cap` unexpired proofs are held.
    pub(crate) fn record(
        &mut self,
        proof: &ProofRecord,
        now: i64,
        cap: usize,
    ) -> Result<bool, BlocklistError> {
        while let Some((until, _)) = self.arrivals.front() {
            if *until >= now {
                break;
            }
            if let Some((until, key)) = self.arrivals.pop_front()
                && self.seen.get(&key) == Some(&until)
            {
                self.seen.remove(&key);
            }
        }
        if let Some(until) = self.seen.get(&proof.key)
            && *until >= now
        {
            return Ok(false);
        }
        if self.seen.len() >= cap {
            return Err(BlocklistError::new(
                "the DPoP replay record is full (too many unexpired proofs)",
            ));
        }
        self.seen.insert(proof.key.clone(), proof.retain_until);
        self.arrivals
            .push_back((proof.retain_until, proof.key.clone()));
        Ok(true)
    }

    /// How many proofs are held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proof(key: &str, until: i64) -> ProofRecord {
        ProofRecord {
            key: key.into(),
            retain_until: until,
        }
    }

    #[test]
    fn a_proof_is_accepted_once_until_it_expires() {
        let mut log = ProofLog::default();
        assert_eq!(log.record(&proof("a", 100), 50, 10).ok(), Some(true));
        assert_eq!(log.record(&proof("a", 100), 100, 10).ok(), Some(false));
        // Past its window the record goes (the proof's iat refuses it by then anyway).
        assert_eq!(log.record(&proof("a", 200), 101, 10).ok(), Some(true));
        assert_eq!(log.len(), 1);
    }

    #[test]
    fn a_flood_stays_bounded_and_fails_closed_at_the_cap() {
        let mut log = ProofLog::default();
        for i in 0..3 {
            assert_eq!(
                log.record(&proof(&i.to_string(), 10), 0, 3).ok(),
                Some(true)
            );
        }
        assert!(log.record(&proof("x", 10), 0, 3).is_err());
        assert_eq!(log.len(), 3);
        // Once they expired they make room.
        assert_eq!(log.record(&proof("x", 20), 11, 3).ok(), Some(true));
        assert_eq!(log.len(), 1);
    }
}
