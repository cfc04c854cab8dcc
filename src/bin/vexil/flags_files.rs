//! Flags files: read (JSON, or YAML by extension) with the positions of their
//! values, merged into one document, and validated with the engine's own checks,
//! every problem named by file, line and column.

use crate::fields;
use crate::report::{CliError, Problem};
use crate::source::{resolve, Pos, Seg, SourceMap};
use anyhow::{Context as _, Result};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vexil::engine::{parse_document, FlagsDocument, LoadError, Snapshot};
use vexil::origin::limits;

/// A parsed file and where its values are written.
pub struct Source {
    /// The name errors use (the path as given, `-` for standard input).
    pub name: String,
    pub value: Value,
    pub map: SourceMap,
}

impl Source {
    fn problem(&self, path: &[Seg], shown: &str, message: String) -> Problem {
        Problem {
            file: Some(self.name.clone()),
            pos: self.map.locate(path),
            path: shown.to_string(),
            message,
        }
    }
}

/// Reads a document (JSON, YAML for `.yaml`/`.yml`; `-` is JSON on standard input).
pub fn read_source(path: &Path) -> Result<Source> {
    let name = path.display().to_string();
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
    } else {
        std::fs::read_to_string(path).map_err(|e| {
            CliError::new("IO", format!("cannot read {name}: {e}")).at(Some(name.clone()), None)
        })?
    };
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    let (value, map) = if yaml {
        let value = serde_yaml_ng::from_str::<Value>(&text).map_err(|e| {
            let pos = e.location().map(|l| Pos {
                line: l.line(),
                column: l.column(),
            });
            CliError::new("PARSE", format!("not valid YAML: {e}")).at(Some(name.clone()), pos)
        })?;
        (value, SourceMap::yaml(&text))
    } else {
        let value = serde_json::from_str::<Value>(&text).map_err(|e| {
            let pos = Pos {
                line: e.line(),
                column: e.column(),
            };
            // serde_json's message ends with the position, which the error carries.
            let text = e.to_string();
            let text = text.rfind(" at line ").map_or(&*text, |i| &text[..i]);
            CliError::new("PARSE", format!("not valid JSON: {text}"))
                .at(Some(name.clone()), Some(pos))
        })?;
        (value, SourceMap::json(&text))
    };
    Ok(Source { name, value, map })
}

/// Reads a flags file: an object, without unknown fields.
pub fn read_flags_file(path: &Path) -> Result<Source> {
    let source = read_source(path)?;
    if !source.value.is_object() {
        return Err(CliError::new(
            "INVALID",
            "a flags file is an object with `flags`, `segments` and `exclusion_groups`",
        )
        .at(Some(source.name), Some(Pos { line: 1, column: 1 }))
        .into());
    }
    let unknown = fields::in_file(&source.value);
    if !unknown.is_empty() {
        let problems = unknown
            .into_iter()
            .map(|u| source.problem(&u.path, &u.shown, u.message))
            .collect();
        return Err(CliError::problems(problems).into());
    }
    Ok(source)
}

/// Merged flags files, and which file each part came from.
pub struct Merged {
    pub doc: Map<String, Value>,
    sources: Vec<Source>,
    /// For each merged flag: its file and its index there.
    flags: Vec<(usize, usize)>,
    /// `segments` / `exclusion_groups` name → its file.
    named: BTreeMap<(String, String), usize>,
    schema_from: Option<usize>,
}

const NAMED: [&str; 2] = ["segments", "exclusion_groups"];

/// Merges flags files: flags are concatenated, segments and exclusion groups are
/// united (a name defined in two files is an error).
pub fn merge_flags_files(files: &[PathBuf]) -> Result<Merged> {
    let mut merged = Merged {
        doc: Map::new(),
        sources: Vec::new(),
        flags: Vec::new(),
        named: BTreeMap::new(),
        schema_from: None,
    };
    let mut flags = Vec::new();
    let mut sections: [Map<String, Value>; 2] = Default::default();
    let mut schema = None;
    for (file, path) in files.iter().enumerate() {
        let source = read_flags_file(path)?;
        let doc = source.value.as_object().expect("checked").clone();
        let at = |segs: &[Seg], message: String| -> anyhow::Error {
            let p = source.problem(segs, "", message);
            CliError::new("INVALID", p.message).at(p.file, p.pos).into()
        };
        for (field, value) in doc {
            let here = [Seg::Key(field.clone())];
            match field.as_str() {
                "flags" => match value {
                    Value::Array(items) => {
                        merged.flags.extend((0..items.len()).map(|i| (file, i)));
                        flags.extend(items);
                    }
                    _ => return Err(at(&here, "`flags` must be a list".into())),
                },
                "schema" => {
                    schema = Some(value);
                    merged.schema_from = Some(file);
                }
                "segments" | "exclusion_groups" => {
                    let Value::Object(items) = value else {
                        return Err(at(&here, format!("`{field}` must be an object")));
                    };
                    let index = NAMED.iter().position(|s| *s == field).expect("named");
                    for (name, def) in items {
                        let key = (field.clone(), name.clone());
                        if let Some(&first) = merged.named.get(&key) {
                            let segs = [Seg::Key(field.clone()), Seg::Key(name.clone())];
                            return Err(at(
                                &segs,
                                format!(
                                    "{field} `{name}` is defined in both {} and {}",
                                    merged.sources[first].name, source.name
                                ),
                            ));
                        }
                        merged.named.insert(key, file);
                        sections[index].insert(name, def);
                    }
                }
                "environment" | "version" | "issued_at" | "expires_at" => {
                    return Err(at(
                        &here,
                        format!("`{field}` is set by `vexil snapshot build`, not in flags files"),
                    ))
                }
                _ => {} // `x-` extensions are not carried into snapshots
            }
        }
        merged.sources.push(source);
    }
    if let Some(schema) = schema {
        merged.doc.insert("schema".into(), schema);
    }
    merged.doc.insert("flags".into(), Value::Array(flags));
    for (field, items) in NAMED.iter().zip(sections) {
        merged.doc.insert((*field).into(), Value::Object(items));
    }
    Ok(merged)
}

impl Merged {
    /// A document that is not from files (an importer's translation).
    pub fn generated(doc: Map<String, Value>) -> Merged {
        Merged {
            doc,
            sources: Vec::new(),
            flags: Vec::new(),
            named: BTreeMap::new(),
            schema_from: None,
        }
    }

    /// A problem with merged flag `index` (`key`), at `field` when the flag has it,
    /// placed in the flag's own file.
    pub fn at_flag(
        &self,
        index: usize,
        key: &str,
        field: Option<&str>,
        message: String,
    ) -> Problem {
        let mut segs = vec![Seg::Key("flags".into()), Seg::Index(index)];
        let mut shown = format!("flags[{key}]");
        let flag = self.doc.get("flags").and_then(|f| f.get(index));
        if let Some(field) = field.filter(|f| flag.is_some_and(|flag| flag.get(f).is_some())) {
            segs.push(Seg::Key(field.into()));
            shown = format!("{shown}.{field}");
        }
        self.place(&segs, &shown, message)
    }

    /// A problem at `segs` of the merged document, placed in its file.
    fn place(&self, segs: &[Seg], shown: &str, message: String) -> Problem {
        // A merged flag's index is shown as its index in its own file.
        let mut shown = shown.to_string();
        if let [Seg::Key(f), Seg::Index(i), ..] = segs {
            let merged_at = format!("flags[{i}]");
            if let (true, Some(&(_, local))) = (f == "flags", self.flags.get(*i)) {
                if shown.starts_with(&merged_at) {
                    shown = format!("flags[{local}]{}", &shown[merged_at.len()..]);
                }
            }
        }
        let shown = shown.as_str();
        let local = match segs {
            [Seg::Key(f), Seg::Index(i), rest @ ..] if f == "flags" => {
                self.flags.get(*i).map(|&(file, local)| {
                    let mut path = vec![Seg::Key(f.clone()), Seg::Index(local)];
                    path.extend_from_slice(rest);
                    (file, path)
                })
            }
            [Seg::Key(f), Seg::Key(name), ..] => self
                .named
                .get(&(f.clone(), name.clone()))
                .map(|&file| (file, segs.to_vec())),
            [Seg::Key(f), ..] if f == "schema" => {
                self.schema_from.map(|file| (file, segs.to_vec()))
            }
            _ => None,
        }
        .or_else(|| (self.sources.len() == 1).then(|| (0, segs.to_vec())));
        match local {
            Some((file, path)) => self.sources[file].problem(&path, shown, message),
            None => Problem {
                file: None,
                pos: None,
                path: shown.to_string(),
                message,
            },
        }
    }

    /// A problem reported by the engine or the limits with a textual path.
    fn place_text(&self, doc: &Value, path: &str, message: &str) -> Problem {
        let segs = resolve(doc, path);
        self.place(&segs, path, fields::suggest(message))
    }
}

/// Validates a merged document (the origin's name limits, then the engine's parse
/// and compilation): the compiled snapshot, or every problem, located.
pub fn validate(merged: &Merged, doc: &Map<String, Value>) -> Result<Snapshot> {
    let value = Value::Object(doc.clone());
    // The origin's name limits, so a file that validates here is accepted there.
    let names = limits::document_issues(&value);
    if !names.is_empty() {
        let problems = names
            .iter()
            .map(|i| merged.place_text(&value, &i.path, &i.message))
            .collect();
        return Err(CliError::problems(problems).into());
    }
    let bytes = serde_json::to_vec(doc)?;
    let error = match parse_document(&bytes).and_then(|d| Snapshot::compile(&d)) {
        Ok(snapshot) => {
            let one_sided = one_sided_exclusions(&value);
            if one_sided.is_empty() {
                return Ok(snapshot);
            }
            let problems = one_sided
                .iter()
                .map(|(path, message)| merged.place_text(&value, path, message))
                .collect();
            return Err(CliError::problems(problems).into());
        }
        Err(e) => e,
    };
    let problems = match error {
        LoadError::Invalid(issues) => issues
            .iter()
            .map(|i| merged.place_text(&value, &i.path, &i.message))
            .collect(),
        LoadError::Parse(text) => vec![parse_problem(merged, &value).unwrap_or(Problem {
            file: None,
            pos: None,
            path: String::new(),
            message: text,
        })],
        other => vec![merged.place(&[Seg::Key("schema".into())], "schema", other.to_string())],
    };
    Err(CliError::problems(problems).into())
}

/// `mutual_exclusions` naming no flag of the files, or listed on one side only. The
/// engine accepts both (the origin changes one flag at a time), but files state the
/// whole relation at once, so both flags exist and list each other there.
fn one_sided_exclusions(doc: &Value) -> Vec<(String, String)> {
    let flags = doc
        .get("flags")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let lists = |flag: &Value| -> Vec<String> {
        flag.get("mutual_exclusions")
            .and_then(Value::as_array)
            .map(|names| {
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let key = |flag: &Value| {
        flag.get("key")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut out = Vec::new();
    for flag in flags {
        for (i, other) in lists(flag).iter().enumerate() {
            let path = format!("flags[{}].mutual_exclusions[{i}]", key(flag));
            let Some(back) = flags.iter().find(|f| key(f) == *other).map(lists) else {
                out.push((path, format!("no flag `{other}` to exclude in these files")));
                continue;
            };
            if !back.contains(&key(flag)) {
                out.push((
                    path,
                    format!("`{other}` does not list `{}` in its `mutual_exclusions`; list each flag on both sides", key(flag)),
                ));
            }
        }
    }
    out
}

/// Where a document that does not parse as the flag model goes wrong, with the
/// structured path serde reports.
fn parse_problem(merged: &Merged, value: &Value) -> Option<Problem> {
    let e = serde_path_to_error::deserialize::<_, FlagsDocument>(value).err()?;
    let mut segs = Vec::new();
    for seg in e.path().iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => segs.push(Seg::Index(*index)),
            serde_path_to_error::Segment::Map { key } => segs.push(Seg::Key(key.clone())),
            _ => break,
        }
    }
    let shown = e.path().to_string();
    let shown = if shown == "." { String::new() } else { shown };
    let message = fields::suggest(&e.into_inner().to_string());
    Some(merged.place(&segs, &shown, message))
}

/// Merges and validates flags files.
pub fn validate_files(files: &[PathBuf]) -> Result<(Merged, Snapshot)> {
    let merged = merge_flags_files(files)?;
    let doc = merged.doc.clone();
    let snapshot = validate(&merged, &doc)?;
    Ok((merged, snapshot))
}
