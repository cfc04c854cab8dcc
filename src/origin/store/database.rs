//! Where the origin's database is: `--database URL` (or `VEXIL_DATABASE_URL`) names
//! a PostgreSQL server or an SQLite file; without it, `vexil.db` in the data
//! directory, as always. Settings (`vexil.toml`) and keys stay in the data directory
//! whichever it is.

use super::{OriginError, DB_FILE};
use std::path::{Path, PathBuf};

/// The origin's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file (by default `vexil.db` in the data directory).
    Sqlite(PathBuf),
    /// A PostgreSQL server: `postgres://user:password@host:port/database` (or
    /// `postgresql://`), any libpq URL parameter included.
    Postgres(String),
}

impl Database {
    /// The database `url` names, or the data directory's SQLite file without one:
    /// `postgres://…` and `postgresql://…` are PostgreSQL, `sqlite:PATH` (or
    /// `sqlite://PATH`) an SQLite file; anything else is refused.
    pub fn from_url(url: Option<&str>, data_dir: &Path) -> Result<Database, OriginError> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(Database::in_data_dir(data_dir));
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Database::Postgres(url.to_string()));
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(OriginError::Config(
                    "the database URL `sqlite:` names no file: give `sqlite:PATH`".into(),
                ));
            }
            return Ok(Database::Sqlite(PathBuf::from(path)));
        }
        let scheme = url.split_once(':').map_or("", |(s, _)| s);
        Err(OriginError::Config(format!(
            "unsupported database URL (scheme `{scheme}`): give postgres://user@host/database, \
             postgresql://…, or sqlite:PATH (default: {DB_FILE} in the data directory)"
        )))
    }

    /// `vexil.db` in `data_dir`.
    pub fn in_data_dir(data_dir: &Path) -> Database {
        Database::Sqlite(data_dir.join(DB_FILE))
    }

    /// How to name it to a person: the file's path, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(url) => redacted(url),
        }
    }
}

/// `url` with any password (in the user part or a `password=` parameter) replaced
/// by `***`.
pub fn redacted(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:***@{host}"),
            None => format!("{user}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_back_end_or_are_refused() {
        let dir = Path::new("/srv/vexil");
        assert_eq!(
            Database::from_url(None, dir).unwrap(),
            Database::Sqlite(dir.join("vexil.db"))
        );
        assert_eq!(
            Database::from_url(Some(" "), dir).unwrap(),
            Database::Sqlite(dir.join("vexil.db"))
        );
        for url in [
            "postgres://u@h/db",
            "postgresql://u:p@h:5433/db?sslmode=disable",
        ] {
            assert_eq!(
                Database::from_url(Some(url), dir).unwrap(),
                Database::Postgres(url.into())
            );
        }
        assert_eq!(
            Database::from_url(Some("sqlite:///var/lib/v.db"), dir).unwrap(),
            Database::Sqlite("/var/lib/v.db".into())
        );
        assert_eq!(
            Database::from_url(Some("sqlite:v.db"), dir).unwrap(),
            Database::Sqlite("v.db".into())
        );
        for bad in [
            "mysql://u@h/db",
            "sqlite:",
            "/var/lib/v.db",
            "postgres:/h/db",
        ] {
            let e = Database::from_url(Some(bad), dir).unwrap_err().to_string();
            assert!(
                e.contains("postgres://") || e.contains("sqlite:PATH"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redacted("postgres://vexil:s3cret@db.internal:5432/vexil"),
            "postgres://vexil:***@db.internal:5432/vexil"
        );
        assert_eq!(
            redacted("postgresql://vexil@db/vexil?password=s3cret&sslmode=require"),
            "postgresql://vexil@db/vexil?password=***&sslmode=require"
        );
        assert_eq!(redacted("postgres://db/vexil"), "postgres://db/vexil");
        let d = Database::Postgres("postgres://a:b@h/d".into());
        assert!(!d.describe().contains(":b@"), "{}", d.describe());
    }
}
