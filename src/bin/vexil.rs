//! `vexil`: the command-line interface.
//!
//! Without a server it is the "flags as code" path: generate keys, validate flags
//! files, build and sign snapshots, verify them, and evaluate flags locally.

#[cfg(not(target_arch = "wasm32"))]
#[path = "vexil/cli.rs"]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    std::process::exit(cli::run());
}

/// The CLI is native only; the wasm build of the crate has an empty binary.
#[cfg(target_arch = "wasm32")]
fn main() {}
