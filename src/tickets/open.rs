//! Which store a configuration names: PostgreSQL when `CUSTOMS_BOT_DATABASE_URL` or `[tickets] url`
//! is set, otherwise the SQLite file at `[tickets] db`.

use std::sync::Arc;

use anyhow::Context;

use super::postgres::{PgStore, redact_url};
use super::{SqliteStore, StoreOptions, TicketStore, spool_path};
use crate::config::{TicketsConfig, is_postgres_url};

/// Opens the store `config` names, applying its pending migrations. With PostgreSQL, questions the
/// database does not take in time are spooled on this host beside `[tickets] db`, as with SQLite.
/// A URL that is not PostgreSQL's, or a server that cannot be reached, is an error naming where the
/// URL was set — never showing its password.
pub fn open_store(config: &TicketsConfig, options: StoreOptions) -> anyhow::Result<Arc<dyn TicketStore>> {
    match config.database_url() {
        Some((url, from)) => {
            if !is_postgres_url(&url.0) {
                anyhow::bail!(
                    "{from} must be a PostgreSQL URL (postgres://user@host:5432/db or postgresql://…), not {}",
                    redact_url(&url.0)
                );
            }
            let store = PgStore::open(&url.0, options, Some(spool_path(&config.db)))
                .with_context(|| format!("the ticket store named by {from} could not be opened"))?;
            Ok(Arc::new(store))
        }
        None => Ok(Arc::new(SqliteStore::open_with(&config.db, options)?)),
    }
}
