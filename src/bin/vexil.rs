//! `vexil`: the command-line interface.
//!
//! Without a server it is the "flags as code" path: generate keys, validate flags
//! files, build and sign snapshots, verify them, and evaluate flags locally.

#[path = "vexil/args.rs"]
mod args;
#[path = "vexil/cli.rs"]
mod cli;
#[path = "vexil/fields.rs"]
mod fields;
#[path = "vexil/flags_files.rs"]
mod flags_files;
#[path = "vexil/offline.rs"]
mod offline;
#[path = "vexil/operator/mod.rs"]
mod operator;
#[path = "vexil/report.rs"]
mod report;
#[path = "vexil/snapshots.rs"]
mod snapshots;
#[path = "vexil/source.rs"]
mod source;

fn main() {
    std::process::exit(cli::run());
}
