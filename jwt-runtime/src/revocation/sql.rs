//! Revocations in SQLite or PostgreSQL through sqlx, with the tutorial's audit columns.
//!
//! Under faults: every operation of the [`Blocklist`] trait runs within
//! [`command_timeout`](SqlBlocklistOptions::command_timeout) (acquiring a connection included),
//! and under the "known down" rule shared with the Redis store (see `known_down.rs`): once the
//! database failed to answer, requests fail closed at once for a moment while one probe at a
//! time tries it, and the first answer ends the outage. A PostgreSQL connection released by a
//! command that timed out is pinged within the same limit before the pool takes it back, and
//! closed when it does not answer: a half-open link never keeps a slot of the pool.

use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::AnyPool;

use super::known_down::{Failure, KnownDown};
use super::{
    Blocklist, BlocklistError, NewSession, ProofRecord, RefreshCheck, Rotation, RotationStep,
    SessionInfo, Standing, StoreClock, TokenInfo,
};

mod proofs;
mod sessions;

/// Options of a [`SqlBlocklist`].
///
/// ```
/// use std::time::Duration;
/// use jwt_runtime::stores::SqlBlocklistOptions;
/// let opts = SqlBlocklistOptions::default()
///     .table("revoked_tokens")
///     .command_timeout(Duration::from_millis(500));
/// assert_eq!((opts.table.as_str(), opts.command_timeout), ("revoked_tokens", Duration::from_millis(500)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqlBlocklistOptions {
    /// The table name (letters, digits, `_`; default `jwt_token_blocklist`).
    pub table: String,
    /// How long one store operation may take, acquiring its connection included (default
    /// 1 s; at least 10 ms). Past it the request fails closed (503) and the database counts as
    /// down for a moment (requests then fail at once while one probe at a time tries it).
    pub command_timeout: Duration,
}

impl Default for SqlBlocklistOptions {
    fn default() -> Self {
        SqlBlocklistOptions {
            table: "jwt_token_blocklist".into(),
            command_timeout: Duration::from_secs(1),
        }
    }
}

impl SqlBlocklistOptions {
    /// Sets [`table`](Self::table).
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// Sets [`command_timeout`](Self::command_timeout).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }
}

/// The shortest command timeout taken.
const MIN_COMMAND_TIMEOUT: Duration = Duration::from_millis(10);

/// Which SQL dialect the tables are created in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
}

/// A revocation store in SQL: the tutorial's `TokenBlocklist` table (`jti` indexed, `type`, the
/// user, `created_at`) plus `expires_at` (the token's `exp`, for audit) and `retain_until`, and a
/// `<table>_users` table for "log out everywhere". The tables are created when the store
/// connects, and a table created by an earlier version is upgraded in place (`retain_until`
/// added; on PostgreSQL `jti` and `type` widened from `VARCHAR` to `TEXT`). SQLite (the
/// default, also in memory) and PostgreSQL URLs are accepted.
///
/// Rows are never deleted by the store (they are the audit log). A row may be deleted once
/// `retain_until` (`exp` plus the verifier's `JWT_DECODE_LEEWAY`) has passed: until then the
/// token is still accepted, so deleting at `expires_at` would un-revoke it for the leeway.
/// `retain_until` is NULL for tokens that never expire, and for rows written before the column
/// existed (for those, use `expires_at` plus your leeway).
///
/// Under faults every operation runs within [`SqlBlocklistOptions::command_timeout`] (1 s by
/// default, acquiring a connection included) and fails closed (503) past it; the database then
/// counts as down for a moment (250 ms), during which requests fail at once while one probe at
/// a time tries it, and the first answer ends the outage. A PostgreSQL connection released by a
/// command that timed out is checked (a ping within the same limit) before it is reused, and
/// closed when it does not answer.
///
/// Sessions (`JWT_REFRESH_ROTATION`) live in `<table>_sessions`, one row per login, with audit
/// columns: `rotations` (how many times its refresh token was rotated), `ended_at`, `end_reason`
/// (`reused`: a retired refresh token came back, `reused_jti` names it; `ended`: its user ended
/// it).
///
/// DPoP proofs (RFC 9449 §11.1, [`Blocklist::record_proof`]) live in `<table>_dpop_proofs`
/// (`proof_key` primary key, `retain_until`): one atomic insert-if-absent per proof, which also
/// takes over a record that expired. Unlike revocations these rows are deleted by the store:
/// every 256 proofs it records, an instance deletes up to 1024 rows whose `retain_until` has
/// passed, so the table stays bounded under a flood of proofs.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use jwt_runtime::stores::{Blocklist, SqlBlocklist, TokenInfo};
/// let store = SqlBlocklist::connect("sqlite::memory:").await.unwrap();
/// let info = TokenInfo { jti: Some("j1".into()), token_type: "access".into(), user: "alice".into(), issued_at: 1, expires_at: Some(2), retain_until: Some(2) };
/// store.revoke(&info).await.unwrap();
/// assert!(store.is_revoked(&info).await.unwrap());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SqlBlocklist {
    pool: AnyPool,
    table: String,
    clock: StoreClock,
    command_timeout: Duration,
    health: Arc<KnownDown>,
    /// DPoP proofs recorded by this instance (its clones included): every so many, it prunes.
    proofs_recorded: Arc<AtomicU64>,
}

fn err(e: sqlx::Error) -> BlocklistError {
    BlocklistError::with_source("sql blocklist", e)
}

/// Whether the database answered `e` (it is up) or did not (refused, reset, timed out, a
/// protocol stream out of step, or PostgreSQL saying it cannot serve: SQLSTATE classes 08
/// connection exception, 53 insufficient resources, 57 operator intervention, 58 system error).
/// An error without a driver error behind it is the store's own verdict on an answer.
fn failure(e: BlocklistError) -> Failure {
    let Some(driver) = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<sqlx::Error>())
    else {
        return Failure::Answered(e);
    };
    let answered = match driver {
        sqlx::Error::Database(db) => !db
            .code()
            .is_some_and(|code| ["08", "53", "57", "58"].iter().any(|c| code.starts_with(c))),
        sqlx::Error::RowNotFound
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Encode(_)
        | sqlx::Error::Decode(_) => true,
        _ => false,
    };
    if answered {
        Failure::Answered(e)
    } else {
        Failure::Down(e)
    }
}

impl SqlBlocklist {
    /// Connects to `url` (`sqlite::memory:`, `sqlite://file.db?mode=rwc`, `postgres://...`) and
    /// creates the `jwt_token_blocklist` tables if they do not exist.
    ///
    /// # Errors
    /// The database is unreachable or the tables cannot be created.
    pub async fn connect(url: &str) -> Result<Self, BlocklistError> {
        Self::connect_with_table(url, "jwt_token_blocklist").await
    }

    /// Like [`connect`](Self::connect), with another table name (letters, digits, `_`).
    ///
    /// # Errors
    /// As [`connect`](Self::connect), or a table name that is not a plain identifier.
    pub async fn connect_with_table(url: &str, table: &str) -> Result<Self, BlocklistError> {
        Self::connect_with(url, SqlBlocklistOptions::default().table(table)).await
    }

    /// Like [`connect`](Self::connect), with `options` (table name, command timeout).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::Duration;
    /// use jwt_runtime::stores::{SqlBlocklist, SqlBlocklistOptions};
    /// let options = SqlBlocklistOptions::default().command_timeout(Duration::from_millis(500));
    /// let store = SqlBlocklist::connect_with("sqlite::memory:", options).await.unwrap();
    /// assert_eq!(store.table(), "jwt_token_blocklist");
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`connect_with_table`](Self::connect_with_table).
    pub async fn connect_with(
        url: &str,
        options: SqlBlocklistOptions,
    ) -> Result<Self, BlocklistError> {
        let table = options.table.as_str();
        let command_timeout = options.command_timeout.max(MIN_COMMAND_TIMEOUT);
        if table.is_empty() || !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(BlocklistError::new(format!(
                "\"{table}\" is not a plain SQL table name"
            )));
        }
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            return Err(BlocklistError::new(
                "the SQL blocklist needs a sqlite: or postgres: URL",
            ));
        };
        install_default_drivers();
        let mut options = AnyPoolOptions::new();
        if dialect == Dialect::Sqlite && url.contains(":memory:") {
            // Every connection to `sqlite::memory:` opens a new database: keep exactly one.
            options = options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        if dialect == Dialect::Postgres {
            options = options.after_release(move |conn, _| {
                Box::pin(async move { answers_within(command_timeout, conn).await })
            });
        }
        let pool = options.connect(url).await.map_err(err)?;
        let store = SqlBlocklist {
            pool,
            table: table.to_string(),
            clock: StoreClock::default(),
            command_timeout,
            health: Arc::new(KnownDown::new("sql blocklist")),
            proofs_recorded: Arc::new(AtomicU64::new(0)),
        };
        store.migrate(dialect).await?;
        Ok(store)
    }

    async fn migrate(&self, dialect: Dialect) -> Result<(), BlocklistError> {
        let t = &self.table;
        let id = match dialect {
            Dialect::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
            Dialect::Postgres => "BIGSERIAL PRIMARY KEY",
        };
        let statements = [
            format!(
                "CREATE TABLE IF NOT EXISTS {t} (id {id}, jti TEXT NOT NULL, type TEXT NOT NULL, \
                 user_identity TEXT NOT NULL, expires_at BIGINT, retain_until BIGINT, created_at BIGINT NOT NULL)"
            ),
            format!("CREATE INDEX IF NOT EXISTS {t}_jti_idx ON {t} (jti)"),
            format!("CREATE INDEX IF NOT EXISTS {t}_user_idx ON {t} (user_identity)"),
            format!(
                "CREATE TABLE IF NOT EXISTS {t}_users (user_identity TEXT PRIMARY KEY, revoked_before BIGINT NOT NULL)"
            ),
        ];
        for statement in statements
            .into_iter()
            .chain(self.session_tables())
            .chain(self.proof_tables())
        {
            self.execute(&statement).await?;
        }
        self.upgrade(dialect).await
    }

    /// Brings a table created by an earlier version up to date; a no-op on a current one.
    async fn upgrade(&self, dialect: Dialect) -> Result<(), BlocklistError> {
        let t = &self.table;
        match dialect {
            Dialect::Postgres => {
                self.execute(&format!(
                    "ALTER TABLE {t} ADD COLUMN IF NOT EXISTS retain_until BIGINT"
                ))
                .await?;
                // Earlier versions had `jti VARCHAR(128)` and `type VARCHAR(16)`: a longer custom
                // type could not be revoked. VARCHAR -> TEXT needs no rewrite; it is only run
                // when needed (it takes an exclusive lock on the table for a moment).
                let narrow: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() \
                     AND table_name = $1 AND column_name IN ('jti', 'type', 'user_identity') AND data_type <> 'text'",
                )
                .bind(t.to_lowercase())
                .fetch_one(&self.pool)
                .await
                .map_err(err)?;
                if narrow > 0 {
                    self.execute(&format!(
                        "ALTER TABLE {t} ALTER COLUMN jti TYPE TEXT, ALTER COLUMN type TYPE TEXT, \
                         ALTER COLUMN user_identity TYPE TEXT"
                    ))
                    .await?;
                }
            }
            Dialect::Sqlite => {
                // SQLite never enforced VARCHAR lengths; only the new column may be missing.
                if !self.sqlite_has_retain_until().await? {
                    let added = self
                        .execute(&format!("ALTER TABLE {t} ADD COLUMN retain_until BIGINT"))
                        .await;
                    // Another process may have added it in the meantime.
                    if added.is_err() && !self.sqlite_has_retain_until().await? {
                        return added;
                    }
                }
            }
        }
        self.upgrade_sessions(dialect).await
    }

    async fn sqlite_has_retain_until(&self) -> Result<bool, BlocklistError> {
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pragma_table_info($1) WHERE name = 'retain_until'",
        )
        .bind(self.table.clone())
        .fetch_one(&self.pool)
        .await
        .map_err(err)?;
        Ok(found > 0)
    }

    async fn execute(&self, statement: &str) -> Result<(), BlocklistError> {
        sqlx::query(statement)
            .execute(&self.pool)
            .await
            .map_err(err)
            .map(|_| ())
    }

    /// Runs one store operation within the command timeout, under the known-down rule.
    async fn guarded<T>(
        &self,
        operation: impl Future<Output = Result<T, BlocklistError>>,
    ) -> Result<T, BlocklistError> {
        self.health
            .run(self.command_timeout, async {
                operation.await.map_err(failure)
            })
            .await
    }

    /// The connection pool (for audit queries over the table).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }
}

/// Whether a PostgreSQL connection going back to the pool still answers, within `limit`: one
/// released by a command that timed out may sit on a dead link, where the pool's own check
/// (a ping without a limit) would hold its slot forever. An error closes it.
async fn answers_within(
    limit: Duration,
    conn: &mut sqlx::AnyConnection,
) -> Result<bool, sqlx::Error> {
    match tokio::time::timeout(limit, sqlx::Connection::ping(conn)).await {
        Ok(answer) => answer.map(|()| true),
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "sql blocklist: a released connection did not answer a ping; closing it",
        ))),
    }
}

/// The revocation queries, run through [`SqlBlocklist::guarded`].
impl SqlBlocklist {
    async fn query_revoked(&self, token: &TokenInfo) -> Result<bool, BlocklistError> {
        let t = &self.table;
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM {t} WHERE jti = $1) \
             + (SELECT COUNT(*) FROM {t}_users WHERE user_identity = $2 AND revoked_before >= $3)"
        );
        let hits: i64 = sqlx::query_scalar(&sql)
            .bind(token.jti.clone().unwrap_or_default())
            .bind(token.user.clone())
            .bind(token.issued_at)
            .fetch_one(&self.pool)
            .await
            .map_err(err)?;
        Ok(hits > 0)
    }

    async fn insert_revoked(&self, token: &TokenInfo) -> Result<(), BlocklistError> {
        let Some(jti) = &token.jti else {
            return Err(BlocklistError::new(
                "a token without a jti cannot be revoked on its own",
            ));
        };
        let sql = format!(
            "INSERT INTO {} (jti, type, user_identity, expires_at, retain_until, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            self.table
        );
        sqlx::query(&sql)
            .bind(jti.clone())
            .bind(token.token_type.clone())
            .bind(token.user.clone())
            .bind(token.expires_at)
            .bind(token.retain_until)
            .bind(self.clock.seconds())
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn raise_cut_off(&self, user: &str, issued_before: i64) -> Result<(), BlocklistError> {
        let t = &self.table;
        let sql = format!(
            "INSERT INTO {t}_users (user_identity, revoked_before) VALUES ($1, $2) \
             ON CONFLICT (user_identity) DO UPDATE SET revoked_before = excluded.revoked_before \
             WHERE excluded.revoked_before > {t}_users.revoked_before"
        );
        sqlx::query(&sql)
            .bind(user.to_string())
            .bind(issued_before)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        self.end_sessions_before(user, issued_before).await
    }
}

impl Blocklist for SqlBlocklist {
    fn use_clock(&mut self, clock: std::sync::Arc<dyn crate::vocabulary::Clock>) {
        self.clock.set(clock);
    }

    async fn is_revoked(&self, token: &TokenInfo) -> Result<bool, BlocklistError> {
        self.guarded(self.query_revoked(token)).await
    }

    async fn revoke(&self, token: &TokenInfo) -> Result<(), BlocklistError> {
        self.guarded(self.insert_revoked(token)).await
    }

    async fn revoke_user(&self, user: &str, issued_before: i64) -> Result<(), BlocklistError> {
        self.guarded(self.raise_cut_off(user, issued_before)).await
    }

    fn keeps_sessions(&self) -> bool {
        true
    }

    async fn start_session(&self, session: &NewSession) -> Result<(), BlocklistError> {
        self.guarded(self.insert_session(session)).await
    }

    async fn rotate(&self, step: &RotationStep) -> Result<Rotation, BlocklistError> {
        self.guarded(self.rotate_session(step)).await
    }

    async fn check_refresh(&self, check: &RefreshCheck) -> Result<Standing, BlocklistError> {
        self.guarded(self.check_refresh_token(check)).await
    }

    async fn session_is_live(&self, session: &str) -> Result<bool, BlocklistError> {
        self.guarded(self.is_session_live(session)).await
    }

    async fn sessions(&self, user: &str) -> Result<Vec<SessionInfo>, BlocklistError> {
        self.guarded(self.list_sessions(user)).await
    }

    async fn end_session(&self, user: &str, session: &str) -> Result<bool, BlocklistError> {
        self.guarded(self.end_one_session(user, session)).await
    }

    fn keeps_proofs(&self) -> bool {
        true
    }

    /// Records a DPoP proof in `<table>_dpop_proofs`, shared by every instance on the
    /// database: one atomic insert-if-absent (two instances racing with one proof get one
    /// `true` between them), which takes over a record whose `retain_until` has passed by the
    /// store's clock. Every 256th call of an instance also deletes up to 1024 expired rows. A
    /// database that cannot answer refuses the proof with an error.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use jwt_runtime::stores::{Blocklist, ProofRecord, SqlBlocklist};
    /// let store = SqlBlocklist::connect("sqlite::memory:").await.unwrap();
    /// let proof = ProofRecord { key: "ab".repeat(32), retain_until: i64::MAX };
    /// assert!(store.record_proof(&proof).await.unwrap());
    /// assert!(!store.record_proof(&proof).await.unwrap(), "a replay");
    /// # }
    /// ```
    async fn record_proof(&self, proof: &ProofRecord) -> Result<bool, BlocklistError> {
        let now = self.clock.seconds();
        let first = self.guarded(self.insert_proof(proof, now)).await?;
        if self.prune_due()
            && let Err(e) = self.guarded(self.prune_proofs(now)).await
        {
            // The answer stands; the next pruning deletes what this one left.
            tracing::warn!(target: "jwt_runtime", reason = %e, "sql blocklist: pruning expired DPoP proofs failed");
        }
        Ok(first)
    }
}
