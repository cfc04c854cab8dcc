//! Commands that need no origin: keys, flags files (validate, assess), policies,
//! import, the check of an exported audit chain, the manual; and the helpers they
//! share. With `--json` each prints one JSON answer on standard output.

use crate::args::{ChangeArg, Cli, ImportSource};
use crate::flags_files::{self, Merged};
use crate::report::{exit, CliError, Problem};
use anyhow::{anyhow, bail, Context as _, Result};
use clap::CommandFactory as _;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use vexil::engine::time::parse_rfc3339_ms;
use vexil::origin::{audit, governance};
use vexil::snapshot::PrivateKeyFile;

/// Prints `value` as pretty JSON.
pub fn print_json(value: &Value) -> Result<i32> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(exit::OK)
}

/// `vexil import`.
pub fn import(
    from: ImportSource,
    file: &Path,
    out: Option<&Path>,
    allow_lossy: bool,
    json_out: bool,
) -> Result<i32> {
    let input = flags_files::read_source(file)?.value;
    let imported = match from {
        ImportSource::Unleash => vexil::import::unleash::translate(&input),
        ImportSource::Flagd => vexil::import::flagd::translate(&input),
    }
    .map_err(|e| {
        CliError::new("INVALID", format!("cannot import: {e}"))
            .at(Some(file.display().to_string()), None)
    })?;
    let document = imported.document;
    let snapshot = flags_files::validate(&Merged::generated(document.clone()), &document)
        .context("the translation does not validate (a bug in the importer: please report it with the input)")?;
    let flags = snapshot.flags().len();
    if !imported.lossy.is_empty() && !allow_lossy {
        let mut e = CliError::new(
            "LOSSY",
            format!(
                "{} part(s) of {flags} flag(s) cannot be translated faithfully; pass --allow-lossy to write the translation anyway",
                imported.lossy.len()
            ),
        )
        .at(Some(file.display().to_string()), None);
        e.problems = imported
            .lossy
            .iter()
            .map(|l| Problem {
                file: None,
                pos: None,
                path: format!("flags[{}]", l.flag),
                message: l.message.clone(),
            })
            .collect();
        return Err(e.into());
    }
    if !json_out {
        for l in &imported.lossy {
            eprintln!("lossy: {}: {}", l.flag, l.message);
        }
    }
    let text = serde_json::to_string_pretty(&Value::Object(document))? + "\n";
    match out {
        Some(path) => {
            fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?;
            if json_out {
                return print_json(
                    &json!({ "out": path, "flags": flags, "lossy": imported.lossy }),
                );
            }
            eprintln!("imported {flags} flag(s) into {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(exit::OK)
}

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// An RFC 3339 time option, now when absent.
pub fn time_arg(name: &str, text: Option<&str>) -> Result<i64> {
    match text {
        None => Ok(now_ms()),
        Some(t) => parse_rfc3339_ms(t).ok_or_else(|| {
            anyhow!("--{name} `{t}` is not an RFC 3339 time such as 2027-01-31T00:00:00Z")
        }),
    }
}

/// A file's text.
pub fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| {
        let name = path.display().to_string();
        CliError::new("IO", format!("cannot read {name}: {e}"))
            .at(Some(name), None)
            .into()
    })
}

fn write_new(path: &Path, contents: &str, private: bool, force: bool) -> Result<()> {
    if path.exists() && !force {
        bail!(
            "{} already exists (pass --force to overwrite)",
            path.display()
        );
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let _ = private;
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// `vexil keys generate`.
pub fn keys_generate(
    id: &str,
    out_private: &Path,
    out_public: &Path,
    force: bool,
    json_out: bool,
) -> Result<i32> {
    if id.is_empty() {
        bail!("--id must not be empty");
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow!("no randomness available: {e}"))?;
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let file = PrivateKeyFile::new(id, &key);
    let keyring = file.keyring()?;
    write_new(
        out_private,
        &(serde_json::to_string_pretty(&file)? + "\n"),
        true,
        force,
    )?;
    write_new(out_public, &(keyring.to_json() + "\n"), false, force)?;
    if json_out {
        return print_json(
            &json!({ "key_id": id, "private_key": out_private, "public_keyring": out_public }),
        );
    }
    println!(
        "generated key `{id}`: private key {} (keep it secret), public keyring {}",
        out_private.display(),
        out_public.display()
    );
    Ok(exit::OK)
}

/// `vexil flags validate`.
pub fn flags_validate(files: &[PathBuf], json_out: bool) -> Result<i32> {
    let (_, snapshot) = flags_files::validate_files(files)?;
    let n = snapshot.flags().len();
    if json_out {
        return print_json(&json!({ "ok": true, "flags": n, "files": files }));
    }
    println!("ok: {n} flags valid");
    Ok(exit::OK)
}

/// `vexil flags assess`: exit 1 when a flag would be refused.
pub fn flags_assess(
    files: &[PathBuf],
    change: ChangeArg,
    now: Option<&str>,
    settings: Option<&std::path::Path>,
    json_out: bool,
) -> Result<i32> {
    let now = time_arg("now", now)?;
    let config = match settings {
        None => governance::GovernanceConfig::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let dir = path.parent().unwrap_or(std::path::Path::new("."));
            vexil::origin::config::OriginConfig::from_toml_in(&text, dir)
                .with_context(|| format!("{}", path.display()))?
                .governance
        }
    };
    let merged = flags_files::merge_flags_files(files)?;
    let doc = merged.doc.clone();
    let segments: BTreeMap<String, vexil::engine::model::Clause> =
        serde_json::from_value(doc.get("segments").cloned().unwrap_or(Value::Null))
            .unwrap_or_default();
    let change = match change {
        ChangeArg::Create => governance::Change::Create,
        ChangeArg::Update => governance::Change::Update,
        ChangeArg::Enable => governance::Change::Enable,
        ChangeArg::Disable => governance::Change::Disable,
        ChangeArg::Archive => governance::Change::Archive,
    };
    let mut refused = 0;
    let mut answers = Vec::new();
    for (index, flag) in doc
        .get("flags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let key = flag.get("key").and_then(Value::as_str).unwrap_or("?");
        let a = governance::assess(flag, &segments, change, now, &config);
        let roles: Vec<&str> = a.roles().into_iter().collect();
        if !a.allowed() {
            refused += 1;
        }
        // Each violation placed in its file: at the field its message names first.
        let located: Vec<_> = a
            .violations
            .iter()
            .map(|v| {
                let field = v.message.split('`').nth(1);
                let at = merged.at_flag(index, key, field, format!("{}: {}", v.policy, v.message));
                (v, at)
            })
            .collect();
        answers.push(json!({ "flag": key, "allowed": a.allowed(), "roles": roles,
            "oversight_level": a.oversight_level, "risk": a.risk, "violations": located.iter()
                .map(|(v, at)| json!({ "policy": v.policy, "message": v.message, "file": at.file,
                    "line": at.pos.map(|p| p.line), "column": at.pos.map(|p| p.column), "path": at.path }))
                .collect::<Vec<_>>() }));
        if json_out {
            continue;
        }
        let oversight = a
            .oversight_level
            .map(|l| format!(", clinical oversight level {l}"))
            .unwrap_or_default();
        if a.allowed() {
            let needs = if roles.is_empty() {
                "no approval".to_string()
            } else {
                roles.join(" + ")
            };
            println!("{key}: allowed, needs {needs}{oversight}");
        } else {
            println!("{key}: refused{oversight}");
            for (_, at) in &located {
                println!("  {at}");
            }
        }
        if let Some(risk) = &a.risk {
            let because: Vec<&str> = risk.reasons.iter().map(|r| r.because.as_str()).collect();
            println!(
                "  risk {} (declared {}): {}",
                governance::risk_name(risk.effective),
                governance::risk_name(risk.declared),
                because.join("; ")
            );
        }
    }
    if json_out {
        print_json(&json!({ "flags": answers, "refused": refused }))?;
    }
    Ok(if refused > 0 { exit::ERROR } else { exit::OK })
}

/// `vexil policy list`.
pub fn policy_list(json_out: bool) -> Result<i32> {
    if json_out {
        return print_json(&json!({ "policies": governance::POLICIES }));
    }
    for policy in governance::POLICIES {
        println!("{:<28} {}", policy.id, policy.description);
    }
    Ok(exit::OK)
}

/// `vexil audit verify FILE`.
pub fn audit_verify(file: &Path, json_out: bool) -> Result<i32> {
    let links: Vec<audit::Link> = serde_json::from_str(&read(file)?).with_context(|| {
        format!(
            "{} is not an audit export (a JSON array of entries)",
            file.display()
        )
    })?;
    match audit::verify(&links) {
        Ok(n) => {
            let head = links
                .last()
                .map(|l| l.hash.as_str())
                .unwrap_or(audit::GENESIS);
            if json_out {
                return print_json(&json!({ "ok": true, "entries": n, "head": head }));
            }
            println!("ok: {n} entries verify; head {head}");
            Ok(exit::OK)
        }
        Err(broken) => Err(CliError::new("AUDIT_BROKEN", broken.to_string())
            .at(Some(file.display().to_string()), None)
            .into()),
    }
}

/// `vexil man`: the page of `vexil` on standard output, or every command's page
/// written into `out`.
pub fn man(out: Option<&Path>) -> Result<i32> {
    let command = Cli::command();
    match out {
        None => {
            clap_mangen::Man::new(command)
                .render(&mut std::io::stdout())
                .context("cannot write the manual page")?;
        }
        Some(dir) => {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("cannot write the manual pages into {}", dir.display()))?;
        }
    }
    Ok(exit::OK)
}
