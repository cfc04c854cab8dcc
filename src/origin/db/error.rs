//! The database layer's error: what went wrong, in terms that mean the same on every
//! back end (no driver type leaks out).

/// A failed database operation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DbError {
    /// [`Db::query_row`](super::Db::query_row) found no row.
    #[error("Query returned no rows")]
    NoRows,
    /// A constraint (unique key, check, foreign key, or a trigger refusing the
    /// statement) refused the statement; the back end's message.
    #[error("{0}")]
    Constraint(String),
    /// Another connection holds the lock too long.
    #[error("{0}")]
    Busy(String),
    /// A column's value is not of the type asked for.
    #[error("column {column} holds {found}, not {expected}")]
    Conversion {
        /// The column's index in the row.
        column: usize,
        /// The type asked for.
        expected: &'static str,
        /// What the column holds.
        found: &'static str,
    },
    /// A parameter cannot be stored (an unsigned integer beyond the signed 64-bit range).
    #[error("parameter cannot be stored: {0}")]
    Param(String),
    /// Any other failure of the back end (bad SQL, I/O, a broken connection); its
    /// message.
    #[error("{0}")]
    Backend(String),
}
