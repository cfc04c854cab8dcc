//! The client of the origin's HTTP API, and reading the documents sent to it.

use super::Conn;
use crate::fields;
use crate::flags_files::read_source;
use crate::report::{CliError, Problem};
use crate::source::{resolve, Seg};
use anyhow::{anyhow, bail, Result};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use vexil::origin::api::ErrorAnswer;

/// A client of the origin's API.
pub struct Api {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
    /// Print JSON answers.
    pub json: bool,
}

impl Api {
    /// A client from the connection options.
    pub fn new(conn: &Conn, json: bool) -> Api {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Api {
            agent,
            base: conn.server.trim_end_matches('/').to_string(),
            token: conn.token.clone().filter(|t| !t.is_empty()),
            json,
        }
    }

    /// Sends a request; a 2xx answer's JSON, or an error made of the API's message.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let (status, answer) = self.send(method, path, body)?;
        if (200..300).contains(&status) {
            return Ok(answer);
        }
        Err(api_error(status, &answer))
    }

    pub fn send(&self, method: &str, path: &str, body: Option<Value>) -> Result<(u16, Value)> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut request = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        } else if !path.starts_with("/keys") && path != "/health" {
            bail!(
                "no token: pass --token or set VEXIL_TOKEN (`vexil init` printed the admin token)"
            );
        }
        let text = body.map(|b| b.to_string()).unwrap_or_default();
        if !text.is_empty() {
            request = request.header("Content-Type", "application/json");
        }
        let request = request
            .body(text)
            .map_err(|e| anyhow!("bad request for {url}: {e}"))?;
        let mut response = self.agent.run(request).map_err(|e| {
            anyhow!("cannot reach the origin at {}: {e} (is `vexil serve` running? set --server or VEXIL_SERVER)", self.base)
        })?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let answer = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, answer))
    }

    /// Sends a request; a 2xx answer read as the API type `T` (see
    /// [`vexil::origin::api`]), with its JSON as sent for `--json`.
    pub fn fetch<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Answer<T>> {
        let raw = self.call(method, path, body)?;
        let body = typed(&raw).map_err(|e| anyhow!("{method} {path}: {e}"))?;
        Ok(Answer { raw, body })
    }

    /// Prints the answer's JSON as the origin sent it when asked, else runs `human`
    /// on its typed body.
    pub fn print<T>(&self, answer: &Answer<T>, human: impl FnOnce(&T)) -> Result<i32> {
        self.show(&answer.raw, |_| human(&answer.body))
    }

    /// Prints `answer` as JSON when asked, else runs `human`.
    pub fn show(&self, answer: &Value, human: impl FnOnce(&Value)) -> Result<i32> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(answer)?);
        } else {
            human(answer);
        }
        Ok(0)
    }
}

/// A 2xx answer: the JSON the origin sent, and the same read as an API type.
pub struct Answer<T> {
    /// The JSON as sent (what `--json` prints).
    pub raw: Value,
    /// The answer as its type.
    pub body: T,
}

/// `answer` read as the API type `T`; an answer that is not one (an origin of
/// another version) is an error naming the field, not a silent `-`.
pub fn typed<T: DeserializeOwned>(answer: &Value) -> Result<T> {
    serde_path_to_error::deserialize(answer).map_err(|e| {
        anyhow!(
            "the origin's answer does not read as {} (at `{}`): {}",
            std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("?"),
            e.path(),
            e.inner()
        )
    })
}

/// A typed value shown as [`text`] shows its JSON (`null` as `-`, `25.0` as `25`).
pub fn shown(v: impl serde::Serialize) -> String {
    text(&serde_json::to_value(v).unwrap_or(Value::Null))
}

/// The origin's error answer as one error: its code, its message, and each of its
/// details once (a detail without a path or policy is shown without a prefix).
pub fn api_error(status: u16, answer: &Value) -> anyhow::Error {
    // Not the origin's error answer (a proxy's page, say): its status and text.
    let Ok(ErrorAnswer { error }) = ErrorAnswer::deserialize(answer) else {
        return anyhow!(CliError::new(
            &format!("HTTP_{status}"),
            format!("the origin answered HTTP {status}: {answer}")
        ));
    };
    let code = error.code.to_uppercase();
    let message = error.message;
    let problems: Vec<Problem> = error
        .details
        .into_iter()
        .flatten()
        .map(|d| Problem {
            file: None,
            pos: None,
            path: d.policy.or(d.path).unwrap_or_default(),
            message: d.message,
        })
        .collect();
    // The origin's message repeats its details after a headline: keep the headline.
    let message = match problems.first() {
        Some(p) if !p.message.is_empty() && message.contains(&p.message) => message
            .split_once(": ")
            .map_or(message.clone(), |(head, _)| head.to_string()),
        _ => message,
    };
    let mut e = CliError::new(&code, message);
    e.problems = problems;
    anyhow!(e)
}

pub fn enc(segment: &str) -> String {
    vexil::url_path::encode_segment(segment)
}

pub fn flag_path(env: &str, flag: &str) -> String {
    format!("/environments/{}/flags/{}", enc(env), enc(flag))
}

pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Number(n) => match n.as_f64() {
            // 25.0 reads as 25.
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// A document (JSON or YAML) sent to the origin.
pub fn read_document(path: &Path) -> Result<Value> {
    Ok(read_source(path)?.value)
}

/// A flag document from a file (a flag, or a flags file with exactly one flag),
/// checked for unknown fields here, where they can be shown in the file; and the
/// path of the flag in the file.
pub fn read_flag(path: &Path) -> Result<FlagFile> {
    let source = read_source(path)?;
    let (flag, at) = match source.value.get("flags").and_then(Value::as_array) {
        Some(flags) if flags.len() == 1 => (
            flags[0].clone(),
            vec![Seg::Key("flags".into()), Seg::Index(0)],
        ),
        Some(flags) => bail!(
            "{} holds {} flags; `flag create` takes one (a flag document, or a flags file with one flag)",
            path.display(),
            flags.len()
        ),
        None => (source.value.clone(), Vec::new()),
    };
    let file = FlagFile { flag, at, source };
    let unknown = fields::in_flag(&file.flag);
    if !unknown.is_empty() {
        let problems = unknown
            .into_iter()
            .map(|u| file.problem(&u.path, &u.shown, u.message))
            .collect();
        return Err(CliError::problems(problems).into());
    }
    Ok(file)
}

/// A flag read from a file, to place the origin's problems back in it.
pub struct FlagFile {
    pub flag: Value,
    at: Vec<Seg>,
    source: crate::flags_files::Source,
}

impl FlagFile {
    fn problem(&self, path: &[Seg], shown: &str, message: String) -> Problem {
        let mut full = self.at.clone();
        full.extend_from_slice(path);
        Problem {
            file: Some(self.source.name.clone()),
            pos: self.source.map.locate(&full),
            path: shown.to_string(),
            message,
        }
    }

    /// The origin's refusal with each problem placed in the file: its paths are
    /// those of a flags document holding this one flag (`flags[KEY]...`).
    pub fn locate(&self, e: anyhow::Error) -> anyhow::Error {
        let mut typed = match e.downcast::<CliError>() {
            Ok(typed) => typed,
            Err(other) => return other, // not the origin's answer (unreachable, ...)
        };
        let doc = serde_json::json!({ "flags": [self.flag] });
        for p in &mut typed.problems {
            let segs = resolve(&doc, &p.path);
            if let [Seg::Key(_), Seg::Index(_), rest @ ..] = segs.as_slice() {
                let placed = self.problem(rest, &p.path, fields::suggest(&p.message));
                *p = placed;
            } else {
                p.file = Some(self.source.name.clone());
            }
        }
        if let Some(first) = typed.problems.first() {
            typed.file = first.file.clone();
            typed.pos = first.pos;
        }
        anyhow!(typed)
    }
}
