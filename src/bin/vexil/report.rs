//! How the CLI reports a failure: one error, printed once, on standard error — as
//! text (`error: FILE:LINE:COLUMN: message`) or, with `--json`, as one JSON object
//! `{"code", "message", "file", "line", "column", "problems"?}`.

use crate::source::Pos;
use serde_json::{json, Value};
use std::fmt;

/// Exit statuses (documented in the README).
pub mod exit {
    /// Done.
    pub const OK: i32 = 0;
    /// An error: bad input, a refused snapshot, a failed check, the origin said no.
    pub const ERROR: i32 = 1;
    /// The command line itself is wrong (clap's status).
    pub const USAGE: i32 = 2;
    /// `vexil eval`: printed, but at least one result is the default served because
    /// of an error (`error_code` set: FLAG_NOT_FOUND, TYPE_MISMATCH, ...).
    pub const EVAL_ERROR: i32 = 3;
}

/// One problem in a file, located.
#[derive(Debug, Clone)]
pub struct Problem {
    pub file: Option<String>,
    pub pos: Option<Pos>,
    /// The path in the document (`flags[a].rules[r].when`), if any.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}")?;
            if let Some(p) = self.pos {
                write!(f, ":{}:{}", p.line, p.column)?;
            }
            write!(f, ": ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.message)
    }
}

impl Problem {
    fn to_json(&self) -> Value {
        json!({ "file": self.file, "line": self.pos.map(|p| p.line), "column": self.pos.map(|p| p.column),
                "path": self.path, "message": self.message })
    }
}

/// An error the CLI reports with a code (and, for files, where).
#[derive(Debug)]
pub struct CliError {
    /// `IO`, `PARSE`, `INVALID`, `VERIFY`, `AUDIT_BROKEN`, `LOSSY`, `REFUSED`,
    /// `ORIGIN`, `UNREACHABLE`, `USAGE` or `ERROR`.
    pub code: String,
    pub message: String,
    pub file: Option<String>,
    pub pos: Option<Pos>,
    /// Each problem, for errors that gather several (validation).
    pub problems: Vec<Problem>,
}

impl CliError {
    pub fn new(code: &str, message: impl Into<String>) -> CliError {
        CliError {
            code: code.into(),
            message: message.into(),
            file: None,
            pos: None,
            problems: Vec::new(),
        }
    }

    pub fn at(mut self, file: Option<String>, pos: Option<Pos>) -> CliError {
        self.file = file;
        self.pos = pos;
        self
    }

    /// Validation problems: the first one's place is the error's.
    pub fn problems(problems: Vec<Problem>) -> CliError {
        let n = problems.len();
        let first = problems.first().cloned();
        let mut e = CliError::new(
            "INVALID",
            format!("{n} problem{} in the flags", if n == 1 { "" } else { "s" }),
        );
        if let Some(p) = first {
            e = e.at(p.file, p.pos);
        }
        e.problems = problems;
        e
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.problems.is_empty() {
            write!(f, "{}:", self.message)?;
            for p in &self.problems {
                write!(f, "\n  {p}")?;
            }
            return Ok(());
        }
        let located = Problem {
            file: self.file.clone(),
            pos: self.pos,
            path: String::new(),
            message: self.message.clone(),
        };
        write!(f, "{located}")
    }
}

impl std::error::Error for CliError {}

/// The code of an error without one of its own.
fn code_of(e: &anyhow::Error) -> &'static str {
    if e.chain()
        .any(|c| c.downcast_ref::<std::io::Error>().is_some())
    {
        "IO"
    } else {
        "ERROR"
    }
}

/// Prints `e` once, as text or JSON.
pub fn print(e: &anyhow::Error, json_out: bool) {
    let typed = e.chain().find_map(|c| c.downcast_ref::<CliError>());
    if !json_out {
        eprintln!("error: {e:#}");
        return;
    }
    let out = match typed {
        Some(t) => {
            // The context added around the typed error, then the error itself.
            let message = format!("{e:#}");
            let message = message
                .strip_suffix(&t.to_string())
                .map(|prefix| format!("{prefix}{}", t.message))
                .unwrap_or(t.message.clone());
            let mut out = json!({ "code": t.code, "message": message, "file": t.file,
                                  "line": t.pos.map(|p| p.line), "column": t.pos.map(|p| p.column) });
            if !t.problems.is_empty() {
                out["problems"] = t.problems.iter().map(Problem::to_json).collect();
            }
            out
        }
        None => json!({ "code": code_of(e), "message": format!("{e:#}"), "file": null,
                        "line": null, "column": null }),
    };
    eprintln!("{out}");
}

/// A command-line error from clap, as JSON (for `--json`).
pub fn print_usage_json(message: &str) {
    let out = json!({ "code": "USAGE", "message": message.trim(), "file": null,
                      "line": null, "column": null });
    eprintln!("{out}");
}
