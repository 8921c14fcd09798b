//! Sessions in SQL (`JWT_REFRESH_ROTATION`): the `<table>_sessions` table, one row per session,
//! with audit columns (`rotations`, `ended_at`, `end_reason`: `reused` or `ended`, `reused_jti`).
//!
//! A rotation reads the row, applies the rules of [`Family`], and writes it back only if its
//! `version` is unchanged (compare-and-swap), retrying otherwise: two instances racing with one
//! refresh token see one another on SQLite and PostgreSQL alike, without row locks.

use sqlx::Row;

use super::{err, SqlBlocklist};
use crate::engine::revocation::{
    BlocklistError, Family, NewSession, Rotation, RotationStep, SessionInfo,
};

/// A compare-and-swap that keeps losing (thousands of uses of one session at once) gives up.
const MAX_ATTEMPTS: usize = 64;

fn jtis(stored: &str) -> Vec<String> {
    serde_json::from_str(stored).unwrap_or_default()
}

fn stored(jtis: &[String]) -> String {
    serde_json::to_string(jtis).unwrap_or_else(|_| "[]".into())
}

impl SqlBlocklist {
    fn sessions_table(&self) -> String {
        format!("{}_sessions", self.table)
    }

    /// The statements that create the sessions table.
    pub(super) fn session_tables(&self) -> [String; 2] {
        let s = self.sessions_table();
        [
            format!(
                "CREATE TABLE IF NOT EXISTS {s} (session TEXT PRIMARY KEY, user_identity TEXT NOT NULL, \
                 label TEXT, created_at BIGINT NOT NULL, last_refreshed BIGINT NOT NULL, \
                 current_jtis TEXT NOT NULL, previous_jtis TEXT NOT NULL, rotated_at BIGINT NOT NULL, \
                 retain_until BIGINT, version BIGINT NOT NULL, rotations BIGINT NOT NULL, \
                 ended_at BIGINT, end_reason TEXT, reused_jti TEXT)"
            ),
            format!("CREATE INDEX IF NOT EXISTS {s}_user_idx ON {s} (user_identity)"),
        ]
    }

    pub(super) async fn insert_session(&self, new: &NewSession) -> Result<(), BlocklistError> {
        let sql = format!(
            "INSERT INTO {} (session, user_identity, label, created_at, last_refreshed, current_jtis, \
             previous_jtis, rotated_at, retain_until, version, rotations) \
             VALUES ($1, $2, $3, $4, $4, $5, '[]', $4, $6, 0, 0)",
            self.sessions_table()
        );
        sqlx::query(&sql)
            .bind(new.session.clone())
            .bind(new.user.clone())
            .bind(new.label.clone())
            .bind(new.created_at)
            .bind(stored(std::slice::from_ref(&new.jti)))
            .bind(new.retain_until)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    /// The session's state and version.
    async fn load(&self, session: &str) -> Result<Option<(Family, i64)>, BlocklistError> {
        let sql = format!(
            "SELECT user_identity, label, created_at, last_refreshed, current_jtis, previous_jtis, \
             rotated_at, retain_until, ended_at, version FROM {} WHERE session = $1",
            self.sessions_table()
        );
        let Some(row) = sqlx::query(&sql)
            .bind(session.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?
        else {
            return Ok(None);
        };
        let get_err = |e: sqlx::Error| err(e);
        let family = Family {
            user: row.try_get(0).map_err(get_err)?,
            label: row.try_get(1).map_err(get_err)?,
            created_at: row.try_get(2).map_err(get_err)?,
            last_refreshed: row.try_get(3).map_err(get_err)?,
            current: jtis(&row.try_get::<String, _>(4).map_err(get_err)?),
            previous: jtis(&row.try_get::<String, _>(5).map_err(get_err)?),
            rotated_at: row.try_get(6).map_err(get_err)?,
            retain_until: row.try_get(7).map_err(get_err)?,
            ended: row.try_get::<Option<i64>, _>(8).map_err(get_err)?.is_some(),
        };
        Ok(Some((family, row.try_get(9).map_err(get_err)?)))
    }

    pub(super) async fn rotate_session(
        &self,
        step: &RotationStep,
    ) -> Result<Rotation, BlocklistError> {
        let s = self.sessions_table();
        let reused = format!(
            "UPDATE {s} SET ended_at = $1, end_reason = 'reused', reused_jti = $2, \
             version = version + 1 WHERE session = $3 AND version = $4"
        );
        let rotated = format!(
            "UPDATE {s} SET current_jtis = $1, previous_jtis = $2, rotated_at = $3, \
             last_refreshed = $4, retain_until = $5, rotations = rotations + 1, \
             version = version + 1 WHERE session = $6 AND version = $7"
        );
        for _ in 0..MAX_ATTEMPTS {
            let Some((mut family, version)) = self.load(&step.session).await? else {
                return Ok(Rotation::Ended);
            };
            let outcome = family.step(step);
            let written = match outcome {
                Rotation::Ended => return Ok(Rotation::Ended),
                Rotation::Reused => sqlx::query(&reused)
                    .bind(step.now)
                    .bind(step.used.clone())
                    .bind(step.session.clone())
                    .bind(version),
                Rotation::Rotated | Rotation::Grace => sqlx::query(&rotated)
                    .bind(stored(&family.current))
                    .bind(stored(&family.previous))
                    .bind(family.rotated_at)
                    .bind(family.last_refreshed)
                    .bind(family.retain_until)
                    .bind(step.session.clone())
                    .bind(version),
            }
            .execute(&self.pool)
            .await
            .map_err(err)?;
            if written.rows_affected() == 1 {
                return Ok(outcome);
            }
        }
        Err(BlocklistError::new(
            "sql blocklist: the session kept changing during a rotation",
        ))
    }

    pub(super) async fn is_session_live(&self, session: &str) -> Result<bool, BlocklistError> {
        let now = self.clock.seconds();
        Ok(self
            .load(session)
            .await?
            .is_some_and(|(family, _)| family.is_live(now)))
    }

    pub(super) async fn list_sessions(
        &self,
        user: &str,
    ) -> Result<Vec<SessionInfo>, BlocklistError> {
        let sql = format!(
            "SELECT session, created_at, last_refreshed, label FROM {} WHERE user_identity = $1 \
             AND ended_at IS NULL AND (retain_until IS NULL OR retain_until >= $2) \
             ORDER BY created_at, session",
            self.sessions_table()
        );
        let rows = sqlx::query(&sql)
            .bind(user.to_string())
            .bind(self.clock.seconds())
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
        rows.iter()
            .map(|row| {
                Ok(SessionInfo {
                    session: row.try_get(0).map_err(err)?,
                    created_at: row.try_get(1).map_err(err)?,
                    last_refreshed: row.try_get(2).map_err(err)?,
                    label: row.try_get(3).map_err(err)?,
                })
            })
            .collect()
    }

    pub(super) async fn end_one_session(
        &self,
        user: &str,
        session: &str,
    ) -> Result<bool, BlocklistError> {
        let now = self.clock.seconds();
        let sql = format!(
            "UPDATE {} SET ended_at = $1, end_reason = 'ended', version = version + 1 \
             WHERE session = $2 AND user_identity = $3 AND ended_at IS NULL \
             AND (retain_until IS NULL OR retain_until >= $1)",
            self.sessions_table()
        );
        let done = sqlx::query(&sql)
            .bind(now)
            .bind(session.to_string())
            .bind(user.to_string())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(done.rows_affected() == 1)
    }
}
