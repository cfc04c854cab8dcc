//! `vexil`: the command-line interface.
//!
//! Without a server it is the "flags as code" path: generate keys, validate flags
//! files, build and sign snapshots, verify them, and evaluate flags locally.

#[cfg(not(target_arch = "wasm32"))]
#[path = "vexil/args.rs"]
mod args;
#[cfg(not(target_arch = "wasm32"))]
#[path = "vexil/cli.rs"]
mod cli;
#[cfg(not(target_arch = "wasm32"))]
#[path = "vexil/fields.rs"]
mod fields;
#[cfg(not(target_arch = "wasm32"))]
#[path = "vexil/flags_files.rs"]
mod flags_files;
#[cfg(not(target_arch = "wasm32"))]
#[path = "vexil/offline.rs"]
mod offline;
#[cfg(not(target_arch = "wasm32"))]
#[path = "vexil/operator/mod.rs"]
mod operator;
#[cfg(not(target_arch = "wasm32"))]
#[path = "vexil/report.rs"]
mod report;
#[cfg(not(target_arch = "wasm32"))]
#[path = "vexil/snapshots.rs"]
mod snapshots;
#[cfg(not(target_arch = "wasm32"))]
#[path = "vexil/source.rs"]
mod source;

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    std::process::exit(cli::run());
}

/// The CLI is native only; the wasm build of the crate has an empty binary.
#[cfg(target_arch = "wasm32")]
fn main() {}
