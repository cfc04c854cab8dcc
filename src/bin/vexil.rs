//! `vexil`: the command-line interface.
//!
//! Without a server it is the "flags as code" path: generate keys, validate flags
//! files, build and sign snapshots, verify them, and evaluate flags locally.

#[path = "vexil/cli.rs"]
mod cli;

fn main() {
    std::process::exit(cli::run());
}
