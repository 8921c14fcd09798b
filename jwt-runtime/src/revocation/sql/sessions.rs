//! Sessions in SQL (`JWT_REFRESH_ROTATION`): the `<table>_sessions` table, one row per session,
//! with audit columns (`rotations`, `ended_at`, `end_reason`: `reused` or `ended`, `reused_jti`).
//! `current_seen` is 1 once the current refresh token was presented (1 for rows written before
//! the column existed).
//!
//! A rotation (or a check of a refresh token where it is not rotated) reads the row, applies the
//! rules of [`Family`], and writes it back only if its `version` is unchanged (compare-and-swap),
//! retrying otherwise: two instances racing with one refresh token see one another on SQLite and
//! PostgreSQL alike, without row locks. A token from before rotation was on starts its session
//! with `INSERT ... ON CONFLICT DO NOTHING` first, so concurrent first uses find one row.

use sqlx::Row;

use super::{err, Dialect, SqlBlocklist};
use crate::revocation::{
    BlocklistError, Family, NewSession, RefreshCheck, Rotation, RotationStep, SessionInfo, Standing,
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
                 ended_at BIGINT, end_reason TEXT, reused_jti TEXT, \
                 current_seen BIGINT NOT NULL DEFAULT 1)"
            ),
            format!("CREATE INDEX IF NOT EXISTS {s}_user_idx ON {s} (user_identity)"),
        ]
    }

    /// Adds `current_seen` to a sessions table of an earlier version; a no-op on a current one.
    pub(super) async fn upgrade_sessions(&self, dialect: Dialect) -> Result<(), BlocklistError> {
        let s = self.sessions_table();
        let add = format!("ALTER TABLE {s} ADD COLUMN current_seen BIGINT NOT NULL DEFAULT 1");
        match dialect {
            Dialect::Postgres => {
                self.execute(&add.replace("ADD COLUMN", "ADD COLUMN IF NOT EXISTS"))
                    .await
            }
            Dialect::Sqlite => {
                let has = || async {
                    sqlx::query_scalar::<_, i64>(
                        "SELECT COUNT(*) FROM pragma_table_info($1) WHERE name = 'current_seen'",
                    )
                    .bind(s.clone())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(err)
                };
                if has().await? > 0 {
                    return Ok(());
                }
                let added = self.execute(&add).await;
                // Another process may have added it in the meantime.
                if added.is_err() && has().await? == 0 {
                    return added;
                }
                Ok(())
            }
        }
    }

    pub(super) async fn insert_session(&self, new: &NewSession) -> Result<(), BlocklistError> {
        self.insert(new, "").await
    }

    /// Inserts a session row; `tail` ends the statement (a conflict clause).
    async fn insert(&self, new: &NewSession, tail: &str) -> Result<(), BlocklistError> {
        let sql = format!(
            "INSERT INTO {} (session, user_identity, label, created_at, last_refreshed, current_jtis, \
             previous_jtis, rotated_at, retain_until, version, rotations, current_seen) \
             VALUES ($1, $2, $3, $4, $4, $5, '[]', $4, $6, 0, 0, 0){tail}",
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
             rotated_at, retain_until, ended_at, version, current_seen FROM {} WHERE session = $1",
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
            seen: row.try_get::<i64, _>(10).map_err(get_err)? != 0,
        };
        Ok(Some((family, row.try_get(9).map_err(get_err)?)))
    }

    /// Writes `family` back over the row at `version` (false: it changed meanwhile). A family
    /// that just ended by a reuse records `reused` as the reused token.
    async fn write_back(
        &self,
        session: &str,
        family: &Family,
        version: i64,
        now: i64,
        reused: Option<&str>,
        rotated: bool,
    ) -> Result<bool, BlocklistError> {
        let s = self.sessions_table();
        let reused_sql = format!(
            "UPDATE {s} SET ended_at = $1, end_reason = 'reused', reused_jti = $2, \
             version = version + 1 WHERE session = $3 AND version = $4"
        );
        let written_sql = format!(
            "UPDATE {s} SET current_jtis = $1, previous_jtis = $2, rotated_at = $3, \
             last_refreshed = $4, retain_until = $5, current_seen = $6, \
             rotations = rotations + $7, version = version + 1 \
             WHERE session = $8 AND version = $9"
        );
        let query = match reused {
            Some(jti) => sqlx::query(&reused_sql)
                .bind(now)
                .bind(jti.to_string())
                .bind(session.to_string())
                .bind(version),
            None => sqlx::query(&written_sql)
                .bind(stored(&family.current))
                .bind(stored(&family.previous))
                .bind(family.rotated_at)
                .bind(family.last_refreshed)
                .bind(family.retain_until)
                .bind(i64::from(family.seen))
                .bind(i64::from(rotated))
                .bind(session.to_string())
                .bind(version),
        };
        let written = query.execute(&self.pool).await.map_err(err)?;
        Ok(written.rows_affected() == 1)
    }

    pub(super) async fn rotate_session(
        &self,
        step: &RotationStep,
    ) -> Result<Rotation, BlocklistError> {
        if step.adopt {
            let conflict = " ON CONFLICT (session) DO NOTHING";
            self.insert(&step.adopted_start(), conflict).await?;
        }
        for _ in 0..MAX_ATTEMPTS {
            let Some((mut family, version)) = self.load(&step.session).await? else {
                return Ok(Rotation::Ended);
            };
            let outcome = family.step(step);
            let reused = match outcome {
                Rotation::Ended => return Ok(Rotation::Ended),
                Rotation::Reused => Some(step.used.as_str()),
                Rotation::Rotated | Rotation::Shared(_) => None,
            };
            if self
                .write_back(&step.session, &family, version, step.now, reused, true)
                .await?
            {
                return Ok(outcome);
            }
        }
        Err(BlocklistError::new(
            "sql blocklist: the session kept changing during a rotation",
        ))
    }

    pub(super) async fn check_refresh_token(
        &self,
        check: &RefreshCheck,
    ) -> Result<Standing, BlocklistError> {
        for _ in 0..MAX_ATTEMPTS {
            let Some((mut family, version)) = self.load(&check.session).await? else {
                return Ok(if check.adopt {
                    Standing::Current
                } else {
                    Standing::Ended
                });
            };
            let before = family.clone();
            let standing = family.check(check);
            if family == before {
                return Ok(standing);
            }
            let reused = (standing == Standing::Reused).then_some(check.jti.as_str());
            if self
                .write_back(&check.session, &family, version, check.now, reused, false)
                .await?
            {
                return Ok(standing);
            }
        }
        Err(BlocklistError::new(
            "sql blocklist: the session kept changing during a check",
        ))
    }

    /// Ends the live sessions of `user` not refreshed after `issued_before` ("log out
    /// everywhere": all their tokens fall under the cut-off).
    pub(super) async fn end_sessions_before(
        &self,
        user: &str,
        issued_before: i64,
    ) -> Result<(), BlocklistError> {
        let sql = format!(
            "UPDATE {} SET ended_at = $1, end_reason = 'ended', version = version + 1 \
             WHERE user_identity = $2 AND ended_at IS NULL AND last_refreshed <= $3",
            self.sessions_table()
        );
        sqlx::query(&sql)
            .bind(self.clock.seconds())
            .bind(user.to_string())
            .bind(issued_before)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
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
