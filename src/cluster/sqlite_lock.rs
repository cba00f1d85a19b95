//! SQLite stays single-node (SPEC §13): `cobro serve` takes an exclusive lock on a file beside
//! the database for as long as it runs, so a second process on the same file refuses to start
//! with one clear line (and the first runs on). The lock is the operating system's (`flock`), so
//! it goes away with the process however it ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

use crate::store::db::sqlite_path;

#[derive(Debug, thiserror::Error)]
pub enum SqliteLockError {
    #[error(
        "another Cobro process is already serving {database}; SQLite is single-node (use PostgreSQL to run several nodes)"
    )]
    Taken { database: String },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Held for the life of the process.
pub struct SqliteLock {
    _file: Option<File>,
}

impl SqliteLock {
    /// Locks `<database file>.lock` for a `sqlite://` URL (nothing for an in-memory database).
    pub fn acquire(database_url: &str) -> Result<Self, SqliteLockError> {
        let Some(database) = sqlite_path(database_url) else {
            return Ok(Self { _file: None });
        };
        let path = PathBuf::from(format!("{}.lock", database.display()));
        let io = |source| SqliteLockError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: Some(file) }),
            Err(TryLockError::WouldBlock) => Err(SqliteLockError::Taken {
                database: database.display().to_string(),
            }),
            Err(TryLockError::Error(err)) => Err(io(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_file_is_refused() -> Result<(), SqliteLockError> {
        let dir = tempfile::tempdir().map_err(|source| SqliteLockError::Io {
            path: "tempdir".into(),
            source,
        })?;
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("c.db").display());
        let first = SqliteLock::acquire(&url)?;
        assert!(matches!(
            SqliteLock::acquire(&url),
            Err(SqliteLockError::Taken { .. })
        ));
        drop(first);
        SqliteLock::acquire(&url)?;
        Ok(())
    }

    #[test]
    fn memory_databases_need_no_lock() {
        assert!(sqlite_path("sqlite::memory:").is_none());
        assert_eq!(
            sqlite_path("sqlite://data/cobro.db?mode=rwc"),
            Some(PathBuf::from("data/cobro.db"))
        );
    }
}
