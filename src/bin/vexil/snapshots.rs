//! Snapshots without an origin: build (sign), payload (sign elsewhere), inspect,
//! verify, and evaluate flags from one, as an edge would.

use crate::args::{EvalArgs, FlagType, SnapshotCommand};
use crate::flags_files;
use crate::offline::{print_json, read, time_arg};
use crate::report::{exit, CliError};
use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::{json, Map, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vexil::engine::context::ResolvedContext;
use vexil::engine::time::format_rfc3339_ms;
use vexil::engine::{Snapshot, ValueType};
use vexil::snapshot::{sign, Keyring, PrivateKeyFile, StalePolicy, Store};

/// `vexil snapshot ...`.
pub fn snapshot(command: SnapshotCommand, json_out: bool) -> Result<i32> {
    match command {
        SnapshotCommand::Build {
            files,
            env,
            version,
            expires_in,
            issued_at,
            key,
            out,
        } => {
            let spec = Spec {
                files: &files,
                env: &env,
                version,
                expires_in,
                issued_at: issued_at.as_deref(),
            };
            snapshot_build(&spec, &key, &out, json_out)
        }
        SnapshotCommand::Verify {
            snapshot,
            keys,
            env,
            now,
        } => snapshot_verify(&snapshot, &keys, env, now.as_deref(), json_out),
        SnapshotCommand::Payload {
            files,
            env,
            version,
            expires_in,
            issued_at,
            out,
        } => {
            let spec = Spec {
                files: &files,
                env: &env,
                version,
                expires_in,
                issued_at: issued_at.as_deref(),
            };
            snapshot_payload(&spec, &out, json_out)
        }
        SnapshotCommand::Inspect { snapshot, keys } => {
            snapshot_inspect(&snapshot, keys.as_deref(), json_out)
        }
    }
}

/// Merges and validates flags files into a compiled snapshot for `env`, with its
/// times.
/// What a snapshot is made of: flags files, its environment, version and times.
struct Spec<'a> {
    files: &'a [PathBuf],
    env: &'a str,
    version: u64,
    expires_in: Duration,
    issued_at: Option<&'a str>,
}

fn compile_snapshot(spec: &Spec<'_>) -> Result<Snapshot> {
    let Spec {
        files,
        env,
        version,
        expires_in,
        issued_at,
    } = *spec;
    if env.is_empty() {
        bail!("--env must not be empty");
    }
    let issued = time_arg("issued-at", issued_at)?;
    let expires = issued.saturating_add(expires_in.as_millis() as i64);
    let mut payload = Map::new();
    payload.insert("environment".into(), json!(env));
    payload.insert("version".into(), json!(version));
    payload.insert("issued_at".into(), json!(format_rfc3339_ms(issued)));
    payload.insert("expires_at".into(), json!(format_rfc3339_ms(expires)));
    let merged = flags_files::merge_flags_files(files)?;
    payload.extend(merged.doc.clone());
    flags_files::validate(&merged, &payload)
}

fn write_out(out: &Path, bytes: &[u8]) -> Result<()> {
    if out == Path::new("-") {
        use std::io::Write;
        std::io::stdout()
            .write_all(bytes)
            .context("cannot write to standard output")
    } else {
        fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))
    }
}

fn snapshot_build(spec: &Spec<'_>, key_path: &Path, out: &Path, json_out: bool) -> Result<i32> {
    let (env, version) = (spec.env, spec.version);
    let key_file = PrivateKeyFile::from_json(&read(key_path)?)
        .with_context(|| format!("{} is not a private key file", key_path.display()))?;
    let key = key_file.signing_key()?;
    let snapshot = compile_snapshot(spec)?;
    let bytes = snapshot.encode(env, version);
    let envelope = sign(&bytes, &key_file.key_id, &key).to_json() + "\n";
    write_out(out, envelope.as_bytes())?;
    let expires = snapshot.meta.expires_at_ms.map(format_rfc3339_ms);
    if json_out && out != Path::new("-") {
        print_json(&json!({ "out": out, "environment": env, "version": version,
            "flags": snapshot.flags().len(), "bytes": envelope.len(), "key_id": key_file.key_id,
            "expires_at": expires }))?;
    } else if out != Path::new("-") {
        println!(
            "signed snapshot {} v{version} for `{env}`: {} flags, {} bytes, key `{}`, expires {}",
            out.display(),
            snapshot.flags().len(),
            envelope.len(),
            key_file.key_id,
            expires.unwrap_or_default()
        );
    }
    Ok(exit::OK)
}

fn snapshot_payload(spec: &Spec<'_>, out: &Path, json_out: bool) -> Result<i32> {
    let (env, version) = (spec.env, spec.version);
    let snapshot = compile_snapshot(spec)?;
    let bytes = snapshot.encode(env, version);
    write_out(out, &bytes)?;
    if json_out && out != Path::new("-") {
        print_json(&json!({ "out": out, "environment": env, "version": version,
            "flags": snapshot.flags().len(), "bytes": bytes.len() }))?;
    } else if out != Path::new("-") {
        println!(
            "payload {} v{version} for `{env}`: {} flags, {} bytes (sign `vexil-snapshot/2\\n` + these bytes with Ed25519)",
            out.display(),
            snapshot.flags().len(),
            bytes.len()
        );
    }
    Ok(exit::OK)
}

fn snapshot_inspect(path: &Path, keys: Option<&Path>, json_out: bool) -> Result<i32> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (payload, verified) = if bytes.starts_with(b"VXP") {
        (bytes, None)
    } else {
        let envelope = vexil::snapshot::Envelope::parse(&bytes).map_err(|e| {
            anyhow!(
                "{} is neither an envelope nor a payload: {e}",
                path.display()
            )
        })?;
        let verified = match keys {
            Some(keys) => {
                let keyring = Keyring::from_json(&read(keys)?)
                    .with_context(|| format!("{} is not a keyring", keys.display()))?;
                vexil::snapshot::verify(&bytes, &keyring, vexil::snapshot::DEFAULT_MAX_BYTES)
                    .map_err(|r| refused(path, r))?;
                Some(envelope.key_id.clone())
            }
            None => None,
        };
        let payload = vexil::snapshot::decode_base64(&envelope.payload)
            .ok_or_else(|| anyhow!("the envelope's payload is not base64"))?;
        (payload, verified)
    };
    let snapshot = Snapshot::decode(&payload).map_err(|e| anyhow!("{e}"))?;
    // Standard error: the document alone stays on standard output.
    match verified {
        _ if json_out => {}
        Some(key) => eprintln!("signature verified (key `{key}`)"),
        None if keys.is_none() => eprintln!("not verified: pass --keys to check the signature"),
        None => {}
    }
    println!("{}", serde_json::to_string_pretty(&snapshot.to_document())?);
    Ok(exit::OK)
}

/// Loads an envelope into a fresh store, as an edge would.
fn load(snapshot: &Path, keys: &Path, env: Option<String>, now: i64) -> Result<Store> {
    let bytes =
        fs::read(snapshot).with_context(|| format!("cannot read {}", snapshot.display()))?;
    let keyring = Keyring::from_json(&read(keys)?)
        .with_context(|| format!("{} is not a keyring", keys.display()))?;
    // Without --env, trust the payload's own environment (after the signature check).
    let env = match env {
        Some(env) => env,
        None => vexil::snapshot::verify(&bytes, &keyring, vexil::snapshot::DEFAULT_MAX_BYTES)
            .map(|v| v.environment)
            .map_err(|r| refused(snapshot, r))?,
    };
    let mut store = Store::new(keyring, env, StalePolicy::ServeStale);
    store.load(&bytes, now).map_err(|r| refused(snapshot, r))?;
    Ok(store)
}

fn snapshot_verify(
    snapshot: &Path,
    keys: &Path,
    env: Option<String>,
    now: Option<&str>,
    json_out: bool,
) -> Result<i32> {
    let now = time_arg("now", now)?;
    let store = load(snapshot, keys, env, now)?;
    let s = store.snapshot().context("no snapshot loaded")?;
    if json_out {
        return print_json(&json!({ "valid": true, "environment": store.environment(),
            "version": store.version(), "key_id": store.key_id(), "flags": s.flags().len(),
            "issued_at": s.meta.issued_at_ms.map(format_rfc3339_ms),
            "expires_at": s.meta.expires_at_ms.map(format_rfc3339_ms), "stale": store.is_stale(now) }));
    }
    let time = |t: Option<i64>| t.map(format_rfc3339_ms).unwrap_or_else(|| "-".into());
    println!(
        "valid: `{}` v{} signed by `{}`, {} flags, issued {}, expires {}{}",
        store.environment(),
        store.version().unwrap_or(0),
        store.key_id().unwrap_or("-"),
        s.flags().len(),
        time(s.meta.issued_at_ms),
        time(s.meta.expires_at_ms),
        if store.is_stale(now) { " (stale)" } else { "" }
    );
    Ok(exit::OK)
}

/// `vexil eval`: exit 3 when a result is the default served because of an error.
pub fn eval(args: EvalArgs) -> Result<i32> {
    let now = time_arg("now", args.now.as_deref())?;
    let default: Value = serde_json::from_str(&args.default)
        .map_err(|e| anyhow!("--default is not valid JSON: {e} (quote strings: '\"text\"')"))?;
    let expected = args.flag_type.map(|t| match t {
        FlagType::Boolean => ValueType::Bool,
        FlagType::String => ValueType::String,
        FlagType::Number => ValueType::Number,
        FlagType::Object => ValueType::Object,
    });
    let store = load(&args.snapshot, &args.keys, args.env.clone(), now)?;
    let snapshot = store.snapshot().context("no snapshot loaded")?;
    // Whether any result is the default served because of an error (exit status 3).
    let errored = std::cell::Cell::new(false);
    let keys: Vec<String> = match &args.flag {
        Some(key) => vec![key.clone()],
        None => snapshot.flags().iter().map(|f| f.key.to_string()).collect(),
    };
    let evaluate = |context: &Value| -> Result<Value> {
        // Resolved once for every flag (and its trace).
        let resolved = snapshot.resolve_context(context);
        let mut answers = Map::new();
        for key in &keys {
            let details = match &resolved {
                Ok(r) => snapshot.details(key, r, default.clone(), expected, now),
                // Not an object: the details say so, for every flag.
                Err(_) => {
                    snapshot.details_for_context(key, context, default.clone(), expected, now)
                }
            };
            if details.error_code.is_some() {
                errored.set(true);
            }
            let mut answer = serde_json::to_value(details)?;
            if args.trace {
                answer["trace"] = match &resolved {
                    Ok(r) => trace_of(snapshot, key, r, now),
                    Err(_) => Value::Null,
                };
            }
            answers.insert(key.clone(), answer);
        }
        Ok(match &args.flag {
            Some(key) => answers.remove(key).unwrap_or(Value::Null),
            None => Value::Object(answers),
        })
    };
    if let Some(path) = &args.contexts {
        let text = if path == Path::new("-") {
            std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
        } else {
            read(path)?
        };
        let mut out = String::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let context: Value = serde_json::from_str(line)
                .map_err(|e| anyhow!("line {}: the context is not valid JSON: {e}", i + 1))?;
            out.push_str(&serde_json::to_string(&evaluate(&context)?)?);
            out.push('\n');
        }
        print!("{out}");
        return Ok(eval_status(errored.get()));
    }
    let context_text = match (&args.context, &args.context_file) {
        (Some(text), _) => text.clone(),
        (None, Some(path)) => read(path)?,
        (None, None) => "{}".to_string(),
    };
    let context: Value = serde_json::from_str(&context_text)
        .map_err(|e| anyhow!("the context is not valid JSON: {e}"))?;
    println!("{}", serde_json::to_string_pretty(&evaluate(&context)?)?);
    Ok(eval_status(errored.get()))
}

/// `{at, duration_us, steps}`: what evaluating `key` for `resolved` tried (see
/// `vexil::engine::trace`), when, and how long the evaluation took; null for an
/// unknown flag (the details say so).
fn trace_of(snapshot: &Snapshot, key: &str, resolved: &ResolvedContext, now: i64) -> Value {
    let Some(id) = snapshot.flag_id(key) else {
        return Value::Null;
    };
    let started = std::time::Instant::now();
    let Some(trace) = snapshot.trace(id, resolved, now) else {
        return Value::Null;
    };
    let duration_us = started.elapsed().as_secs_f64() * 1e6;
    json!({"at": format_rfc3339_ms(now), "duration_us": duration_us, "steps": trace.steps})
}

fn eval_status(errored: bool) -> i32 {
    if errored {
        exit::EVAL_ERROR
    } else {
        exit::OK
    }
}

/// A snapshot an edge would refuse: the refusal's code (`BAD_SIGNATURE`,
/// `EXPIRED`, ...) is the error's.
fn refused(path: &Path, r: vexil::snapshot::Rejection) -> anyhow::Error {
    CliError::new(r.code.as_str(), r.to_string())
        .at(Some(path.display().to_string()), None)
        .into()
}
