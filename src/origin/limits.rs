//! Lengths of the names in flags documents. The engine accepts names of any length;
//! the origin, which stores names in URLs, audit subjects and every snapshot, and
//! `vexil flags validate` refuse names longer than [`MAX_NAME_CHARS`] characters:
//! flag keys, variant names, rule ids, segment and exclusion-group names.
//! (Environment names are at most 64 characters, token names 100.)

use crate::engine::edit::FlagDoc;
use crate::engine::Issue;
use serde_json::Value;

/// The longest flag key, variant name, rule id, segment or exclusion-group name, in
/// characters.
pub const MAX_NAME_CHARS: usize = 128;

/// `name` as shown in a path: cut to 32 characters.
fn shown(name: &str) -> String {
    if name.chars().count() <= 32 {
        name.to_string()
    } else {
        format!("{}…", name.chars().take(32).collect::<String>())
    }
}

/// The issue for `name` (a `what`, at `path`) if it is too long.
fn too_long(what: &str, path: impl FnOnce() -> String, name: &str) -> Option<Issue> {
    let chars = name.chars().count();
    (chars > MAX_NAME_CHARS).then(|| Issue {
        path: path(),
        message: format!("the {what} is {chars} characters; at most {MAX_NAME_CHARS}"),
    })
}

/// The issue for a segment (`"segment"`) or exclusion group (`"exclusion group"`)
/// named `name`, if the name is too long.
pub fn name_issue(what: &str, name: &str) -> Option<Issue> {
    let section = if what == "segment" {
        "segments"
    } else {
        "exclusion_groups"
    };
    too_long(
        &format!("{what} name"),
        || format!("{section}[{}]", shown(name)),
        name,
    )
}

/// Names in one flag document that are too long.
pub fn flag_issues(flag: &Value) -> Vec<Issue> {
    let flag = FlagDoc(flag);
    let key = flag.key();
    let at = format!("flags[{}]", shown(key));
    let mut out: Vec<Issue> = too_long("flag key", || format!("{at}.key"), key)
        .into_iter()
        .collect();
    for name in flag.variant_names() {
        out.extend(too_long(
            "variant name",
            || format!("{at}.variants.{}", shown(name)),
            name,
        ));
    }
    for (i, id) in flag.rule_ids().enumerate() {
        if let Some(id) = id {
            out.extend(too_long("rule id", || format!("{at}.rules[{i}].id"), id));
        }
    }
    out
}

/// Names in a flags document (`{flags, segments, exclusion_groups}`) that are too
/// long.
pub fn document_issues(doc: &Value) -> Vec<Issue> {
    let mut out: Vec<Issue> = doc
        .get("flags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(flag_issues)
        .collect();
    for (section, what) in [
        ("segments", "segment"),
        ("exclusion_groups", "exclusion group"),
    ] {
        let names = doc.get(section).and_then(Value::as_object);
        for name in names.into_iter().flat_map(|m| m.keys()) {
            out.extend(name_issue(what, name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_up_to_the_limit_pass() {
        let ok = "k".repeat(MAX_NAME_CHARS);
        let doc = json!({ "flags": [{ "key": ok, "variants": { "on": true },
                          "rules": [{ "id": ok }] }], "segments": { ok.clone(): {} } });
        assert!(document_issues(&doc).is_empty());
    }

    #[test]
    fn longer_names_are_reported_with_short_paths() {
        let long = "é".repeat(MAX_NAME_CHARS + 1);
        let doc = json!({ "flags": [{ "key": long, "variants": { long.clone(): true },
                          "rules": [{ "id": long }] }],
                          "segments": { long.clone(): {} }, "exclusion_groups": { long.clone(): {} } });
        let issues = document_issues(&doc);
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        let cut = format!("{}…", "é".repeat(32));
        assert_eq!(
            paths,
            [
                format!("flags[{cut}].key"),
                format!("flags[{cut}].variants.{cut}"),
                format!("flags[{cut}].rules[0].id"),
                format!("segments[{cut}]"),
                format!("exclusion_groups[{cut}]"),
            ]
        );
        assert_eq!(
            issues[0].message,
            "the flag key is 129 characters; at most 128"
        );
    }
}
