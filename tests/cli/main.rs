//! The `vexil` binary end to end: keys, validation, signing, verification,
//! evaluation, and clear errors for bad input.
#![cfg(not(target_arch = "wasm32"))]

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod build;
mod errors;
mod governance;

/// A fresh working directory per test.
/// The arguments of [`Dir::keygen`]: key `k1` into `key.json` and `keys.json`.
const KEYGEN: [&str; 8] = [
    "keys",
    "generate",
    "--id",
    "k1",
    "--out-private",
    "key.json",
    "--out-public",
    "keys.json",
];

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("vexil-cli-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    /// `vexil keys generate`: `key.json` (private) and `keys.json` (keyring).
    fn keygen(&self) -> String {
        ok(&self.vexil(&KEYGEN))
    }
    fn vexil(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_vexil"))
            .args(args)
            .current_dir(&self.0)
            .output()
            .expect("runs")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(out: &Output, code: i32, fragment: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(
        stderr.contains(fragment),
        "stderr should mention `{fragment}`: {stderr}"
    );
}

/// Keys plus a signed snapshot of both seed examples in `dir`.
fn signed(dir: &Dir) {
    dir.keygen();
    ok(&dir.vexil(&[
        "snapshot",
        "build",
        &example("finance-flags.json"),
        &example("healthcare-flags.json"),
        "--env",
        "production",
        "--version",
        "7",
        "--issued-at",
        "2026-11-24T00:00:00Z",
        "--expires-in",
        "24h",
        "--key",
        "key.json",
        "--out",
        "snapshot.json",
    ]));
}
