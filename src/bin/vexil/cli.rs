//! Running a command: parse the command line, dispatch, and report the one error
//! (if any) once. Nothing here panics on input.

use crate::args::{
    AuditArgs, AuditCommand, Cli, Command, FlagsCommand, KeysCommand, PolicyCommand, ReportFormat,
};
use crate::operator::{self, Api, Conn};
use crate::report::{self, exit};
use crate::{offline, snapshots};
use anyhow::{bail, Result};
use clap::{CommandFactory as _, Parser as _};

/// Runs the CLI and returns the process exit status.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    if !matches!(cli.command, Command::Serve { .. }) {
        // Like other command-line tools, end quietly when the reader of our output
        // goes away (`vexil audit log | head`) instead of failing on a broken pipe.
        // The server keeps Rust's default (ignored), so a closed log pipe never stops it.
        #[cfg(unix)]
        // SAFETY: restoring SIGPIPE's default disposition before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let json = cli.json;
    match dispatch(cli.command, json) {
        Ok(code) => code,
        Err(e) => {
            report::print(&e, json);
            exit::ERROR
        }
    }
}

/// A command line clap refused: its own message (help and version are not
/// errors), or one JSON object when `--json` was asked for.
fn usage_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    let asked_json = std::env::args().any(|a| a == "--json");
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            exit::OK
        }
        _ if asked_json => {
            report::print_usage_json(&e.render().to_string());
            exit::USAGE
        }
        _ => e.exit(),
    }
}

fn dispatch(command: Command, json: bool) -> Result<i32> {
    let api = |conn: &Conn| Api::new(conn, json);
    match command {
        Command::Keys(KeysCommand::List { conn }) => operator::keys_list(&api(&conn)),
        Command::Keys(KeysCommand::Rotate { overlap, conn }) => {
            operator::keys_rotate(&api(&conn), overlap)
        }
        Command::Keys(KeysCommand::Generate {
            id,
            out_private,
            out_public,
            force,
        }) => offline::keys_generate(&id, &out_private, &out_public, force, json),
        Command::Init { data, database } => {
            operator::init(&data, database.database.as_deref(), database.kek()?, json)
        }
        Command::Serve {
            data,
            database,
            listen,
            www,
            tls_cert,
            tls_key,
            public_metrics,
        } => {
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(vexil::origin::tls::TlsFiles { cert, key }),
                _ => None,
            };
            operator::serve(vexil::origin::ServeOptions {
                data_dir: data,
                kek: database.kek()?,
                database: database.database,
                listen,
                www_root: www,
                tls,
                public_metrics,
            })
        }
        Command::Flag(r) => operator::flag(&api(&r.conn), r.command),
        Command::Rollout(r) => operator::rollout(&api(&r.conn), r.command),
        Command::Rollback {
            flag,
            to_revision,
            env,
            reason,
            conn,
        } => operator::rollback(&api(&conn), &flag, &env, to_revision, reason),
        Command::BulkUpdate {
            file,
            env,
            reason,
            conn,
        } => operator::bulk_update(&api(&conn), &file, &env, reason),
        Command::Approve {
            change,
            comment,
            role,
            conn,
        } => operator::decide(&api(&conn), change, true, comment, role),
        Command::Reject {
            change,
            comment,
            conn,
        } => operator::decide(&api(&conn), change, false, Some(comment), None),
        Command::Changes(r) => operator::changes(&api(&r.conn), r.command),
        Command::Promote {
            flag,
            from,
            to,
            reason,
            conn,
        } => operator::promote(&api(&conn), &flag, &from, &to, reason),
        Command::Insights { env, conn } => operator::insights(&api(&conn), env),
        Command::Token(r) => operator::token(&api(&r.conn), r.command),
        Command::SdkKey(r) => operator::sdk_key(&api(&r.conn), r.command),
        Command::Webhooks(r) => operator::webhooks(&api(&r.conn), r.command),
        Command::Segment(r) => operator::segment(&api(&r.conn), r.command),
        Command::Env(r) => operator::env(&api(&r.conn), r.command),
        Command::Import {
            from,
            file,
            out,
            allow_lossy,
        } => offline::import(from, &file, out.as_deref(), allow_lossy, json),
        Command::Flags(FlagsCommand::Validate { files }) => offline::flags_validate(&files, json),
        Command::Flags(FlagsCommand::Assess {
            files,
            change,
            now,
            settings,
        }) => offline::flags_assess(&files, change, now.as_deref(), settings.as_deref(), json),
        Command::Policy(PolicyCommand::List) => offline::policy_list(json),
        Command::Audit(a) => audit(a, json),
        Command::Snapshot(c) => snapshots::snapshot(c, json),
        Command::Eval(args) => snapshots::eval(args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "vexil", &mut std::io::stdout());
            Ok(exit::OK)
        }
        Command::Man { out } => offline::man(out.as_deref()),
    }
}

fn audit(a: AuditArgs, json: bool) -> Result<i32> {
    let api = Api::new(&a.conn, json);
    match (a.command, a.flag) {
        (
            Some(AuditCommand::Verify {
                file: Some(file), ..
            }),
            _,
        ) => offline::audit_verify(&file, json),
        (
            Some(AuditCommand::Verify {
                data: Some(dir),
                database,
                ..
            }),
            _,
        ) => operator::audit_verify_data(&dir, database.database.as_deref(), database.kek()?, json),
        (Some(AuditCommand::Verify { .. }), _) => operator::audit_verify_remote(&api),
        (
            Some(AuditCommand::Log {
                flag,
                env,
                action,
                limit,
            }),
            _,
        ) => operator::audit_log(&api, flag, env, action, limit),
        (None, Some(flag)) => {
            operator::audit_report(&api, &flag, &a.env, matches!(a.format, ReportFormat::Json))
        }
        (None, None) => {
            bail!("give a FLAG for its audit report, or `vexil audit verify` / `vexil audit log`")
        }
    }
}
