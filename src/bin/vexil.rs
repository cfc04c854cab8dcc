//! `vexil`: the command-line interface.
//!
//! Without a server it is the "flags as code" path: generate keys, validate flags
//! files, build and sign snapshots, verify them, and evaluate flags locally.

#[cfg(not(target_arch = "wasm32"))]
#[path = "vexil/cli.rs"]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    // Like other command-line tools, end quietly when the reader of our output goes
    // away (`vexil audit log | head`) instead of failing on a broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(cli::run());
}

/// The CLI is native only; the wasm build of the crate has an empty binary.
#[cfg(target_arch = "wasm32")]
fn main() {}
