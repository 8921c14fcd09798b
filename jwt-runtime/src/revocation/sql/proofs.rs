//! DPoP replay records in SQL (RFC 9449 §11.1): the `<table>_dpop_proofs` table, one row per
//! proof (`proof_key` primary key, `retain_until`).
//!
//! A proof is recorded with one statement, atomic on SQLite and PostgreSQL alike:
//!
//! ```sql
//! INSERT INTO <table>_dpop_proofs (proof_key, retain_until) VALUES ($1, $2)
//! ON CONFLICT (proof_key) DO UPDATE SET retain_until = excluded.retain_until
//! WHERE <table>_dpop_proofs.retain_until < $now
//! ```
//!
//! It changes one row when the proof is new, or when its record
//! expired (taken over), and none for a replay: two instances racing with one proof see one row
//! changed between them (PostgreSQL re-checks the `WHERE` on the row the other one wrote).
//!
//! The table stays bounded: every [`PRUNE_EVERY`] proofs it records, an instance deletes up to
//! [`PRUNE_BATCH`] expired rows (through the `retain_until` index, never a scan of the table), so
//! deletions keep pace with insertions whatever the flood.

use std::sync::atomic::Ordering;

use super::{err, SqlBlocklist};
use crate::revocation::{BlocklistError, ProofRecord};

/// How many proofs an instance records between two prunings.
pub(super) const PRUNE_EVERY: u64 = 256;

/// How many expired rows one pruning deletes at most (more than [`PRUNE_EVERY`], so that
/// pruning outpaces the rows an instance adds and catches up on a backlog).
pub(super) const PRUNE_BATCH: i64 = 1024;

impl SqlBlocklist {
    pub(super) fn proofs_table(&self) -> String {
        format!("{}_dpop_proofs", self.table)
    }

    /// The statements that create the proofs table.
    pub(super) fn proof_tables(&self) -> [String; 2] {
        let p = self.proofs_table();
        [
            format!(
                "CREATE TABLE IF NOT EXISTS {p} (proof_key TEXT PRIMARY KEY, retain_until BIGINT NOT NULL)"
            ),
            format!("CREATE INDEX IF NOT EXISTS {p}_until_idx ON {p} (retain_until)"),
        ]
    }

    /// Records `proof` at `now`: `true` when no unexpired record of it existed (a row was
    /// inserted or an expired one taken over), `false` for a replay.
    pub(super) async fn insert_proof(
        &self,
        proof: &ProofRecord,
        now: i64,
    ) -> Result<bool, BlocklistError> {
        let p = self.proofs_table();
        let sql = format!(
            "INSERT INTO {p} (proof_key, retain_until) VALUES ($1, $2) \
             ON CONFLICT (proof_key) DO UPDATE SET retain_until = excluded.retain_until \
             WHERE {p}.retain_until < $3"
        );
        let done = sqlx::query(&sql)
            .bind(proof.key.clone())
            .bind(proof.retain_until)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        match done.rows_affected() {
            0 => Ok(false),
            1 => Ok(true),
            n => Err(BlocklistError::new(format!(
                "sql blocklist: recording a DPoP proof changed {n} rows"
            ))),
        }
    }

    /// Whether this recording is the one that prunes (every [`PRUNE_EVERY`]th of the instance,
    /// the first included).
    pub(super) fn prune_due(&self) -> bool {
        self.proofs_recorded
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(PRUNE_EVERY)
    }

    /// Deletes up to [`PRUNE_BATCH`] proofs expired at `now`; how many were deleted. The outer
    /// condition is checked again on each row, so one taken over meanwhile (unexpired again)
    /// stays.
    pub(super) async fn prune_proofs(&self, now: i64) -> Result<u64, BlocklistError> {
        let p = self.proofs_table();
        let sql = format!(
            "DELETE FROM {p} WHERE retain_until < $1 AND proof_key IN \
             (SELECT proof_key FROM {p} WHERE retain_until < $1 LIMIT $2)"
        );
        let done = sqlx::query(&sql)
            .bind(now)
            .bind(PRUNE_BATCH)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected())
    }
}
