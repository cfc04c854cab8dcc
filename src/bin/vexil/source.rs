//! Where things are in a flags file. Flags files are parsed into `serde_json::Value`
//! and checked there; to name the line and column of a problem in the file the
//! person wrote, the text is also parsed into a tree of positions (JSON by
//! `jsonc-parser`, YAML by `marked-yaml`), and a problem's path is looked up in it.

use serde_json::Value;

/// A 1-based line and column (in characters) in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A document's shape with the position of every value (and of every key).
enum Node {
    Object {
        at: Pos,
        entries: Vec<(String, Pos, Node)>,
    },
    Array {
        at: Pos,
        items: Vec<Node>,
    },
    Scalar(Pos),
}

impl Node {
    fn at(&self) -> Pos {
        match self {
            Node::Object { at, .. } | Node::Array { at, .. } | Node::Scalar(at) => *at,
        }
    }
}

/// The positions of one file's values; empty when the text could not be parsed
/// for positions (then errors name the file only).
pub struct SourceMap {
    root: Option<Node>,
}

impl SourceMap {
    /// Positions in JSON text.
    pub fn json(text: &str) -> SourceMap {
        let lines = LineIndex::new(text);
        let options = jsonc_parser::ParseOptions::default();
        let parsed = jsonc_parser::parse_to_ast(text, &Default::default(), &options);
        SourceMap {
            root: parsed
                .ok()
                .and_then(|p| p.value)
                .map(|v| json_node(&v, &lines)),
        }
    }

    /// Positions in YAML text. marked-yaml refuses anchors and aliases, so a file
    /// using them is mapped with each `&anchor` blanked and each `*alias` read as a
    /// null of the same width: every position outside an alias stays exact, and a
    /// problem inside aliased content is placed at the alias.
    pub fn yaml(text: &str) -> SourceMap {
        let parse = |t: &str| {
            marked_yaml::parse_yaml_with_options(0, t, marked_yaml::LoaderOptions::default())
                .ok()
                .map(|n| yaml_node(&n))
        };
        SourceMap {
            root: parse(text).or_else(|| parse(&without_anchors(text))),
        }
    }

    /// Where the value at `path` is written: the position of its key for an
    /// object's entry, of the element for a list's; the deepest part of the path
    /// that exists when the rest does not (a missing field: its object).
    pub fn locate(&self, path: &[Seg]) -> Option<Pos> {
        let mut node = self.root.as_ref()?;
        let mut pos = node.at();
        for seg in path {
            let next = match (node, seg) {
                (Node::Object { entries, .. }, Seg::Key(k)) => entries
                    .iter()
                    .find(|(name, _, _)| name == k)
                    .map(|(_, key_at, v)| (*key_at, v)),
                (Node::Array { items, .. }, Seg::Index(i)) => items.get(*i).map(|v| (v.at(), v)),
                _ => None,
            };
            match next {
                Some((at, child)) => {
                    pos = at;
                    node = child;
                }
                None => break,
            }
        }
        Some(pos)
    }
}

/// Byte offset → line and column.
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    fn pos(&self, offset: usize) -> Pos {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        Pos { line, column }
    }
}

fn json_node(value: &jsonc_parser::ast::Value<'_>, lines: &LineIndex<'_>) -> Node {
    use jsonc_parser::ast::Value as V;
    use jsonc_parser::common::Ranged as _;
    let at = lines.pos(value.range().start);
    match value {
        V::Object(o) => Node::Object {
            at,
            entries: o
                .properties
                .iter()
                .map(|p| {
                    (
                        p.name.as_str().to_string(),
                        lines.pos(p.range.start),
                        json_node(&p.value, lines),
                    )
                })
                .collect(),
        },
        V::Array(a) => Node::Array {
            at,
            items: a.elements.iter().map(|e| json_node(e, lines)).collect(),
        },
        _ => Node::Scalar(at),
    }
}

/// `text` with anchors (`&name`) blanked and aliases (`*name`) replaced by `~`, each
/// padded to its width, where a node may start (after a space, `[`, `{`, `,`, `:`
/// or `-`, or at a line's start). Only positions are read from the result.
fn without_anchors(text: &str) -> String {
    let pattern = regex_lite::Regex::new(r"(?m)(^|[\s\[{,:-])([&*])([^\s\[\]{},]+)")
        .expect("a valid pattern");
    pattern
        .replace_all(text, |c: &regex_lite::Captures<'_>| {
            let width = c[3].len();
            let node = if &c[2] == "*" { "~" } else { " " };
            format!("{}{node}{}", &c[1], " ".repeat(width))
        })
        .into_owned()
}

fn yaml_pos(span: &marked_yaml::Span) -> Pos {
    span.start().map_or(Pos { line: 1, column: 1 }, |m| Pos {
        line: m.line(),
        column: m.column(),
    })
}

fn yaml_node(node: &marked_yaml::Node) -> Node {
    use marked_yaml::Node as N;
    let at = yaml_pos(node.span());
    match node {
        N::Mapping(m) => Node::Object {
            at,
            entries: m
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), yaml_pos(k.span()), yaml_node(v)))
                .collect(),
        },
        N::Sequence(s) => Node::Array {
            at,
            items: s.iter().map(yaml_node).collect(),
        },
        N::Scalar(_) => Node::Scalar(at),
    }
}

/// Reads a problem's textual path (`flags[checkout].rules[beta].serve`, as the
/// engine and the origin write them: list items by index, or by their `key` or
/// `id`) against the document it describes.
pub fn resolve(doc: &Value, path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    let mut node = doc;
    let mut rest = path;
    loop {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if rest.is_empty() {
            break;
        }
        let step = if let Some(inner) = rest.strip_prefix('[') {
            bracketed(node, inner)
        } else {
            dotted(node, rest)
        };
        let Some((seg, used, child)) = step else {
            break;
        };
        out.push(seg);
        node = child;
        rest = &rest[used..];
    }
    out
}

/// `[name]` at the start of `rest`'s remainder (`inner` is after the `[`): an
/// index or an item's key/id in a list, a key in an object.
fn bracketed<'v>(node: &'v Value, inner: &str) -> Option<(Seg, usize, &'v Value)> {
    // A name may itself hold `]`: try each `]` that ends a path step.
    for (i, _) in inner.match_indices(']') {
        let after = &inner[i + 1..];
        if !(after.is_empty() || after.starts_with('.') || after.starts_with('[')) {
            continue;
        }
        let name = &inner[..i];
        let used = i + 2;
        match node {
            Value::Array(items) => {
                let by_name = items.iter().position(|item| {
                    ["key", "id"]
                        .iter()
                        .any(|f| item.get(f).and_then(Value::as_str) == Some(name))
                });
                let index = by_name.or_else(|| name.parse().ok().filter(|&n| n < items.len()));
                if let Some(index) = index {
                    return Some((Seg::Index(index), used, &items[index]));
                }
            }
            Value::Object(map) => {
                if let Some(child) = map.get(name) {
                    return Some((Seg::Key(name.to_string()), used, child));
                }
            }
            _ => return None,
        }
    }
    None
}

/// `name` at the start of `rest`: the longest key of the object that ends a step.
fn dotted<'v>(node: &'v Value, rest: &str) -> Option<(Seg, usize, &'v Value)> {
    let Value::Object(map) = node else {
        return None;
    };
    map.iter()
        .filter(|(k, _)| {
            rest.strip_prefix(k.as_str())
                .is_some_and(|after| after.is_empty() || after.starts_with(['.', '[']))
        })
        .max_by_key(|(k, _)| k.len())
        .map(|(k, v)| (Seg::Key(k.clone()), k.len(), v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_positions_are_those_of_the_text() {
        let text = "{\n  \"flags\": [\n    {\"key\": \"a\",\n     \"ruls\": []}\n  ]\n}\n";
        let map = SourceMap::json(text);
        let path = [
            Seg::Key("flags".into()),
            Seg::Index(0),
            Seg::Key("ruls".into()),
        ];
        assert_eq!(map.locate(&path), Some(Pos { line: 4, column: 6 }));
        // A missing field: its object.
        let path = [
            Seg::Key("flags".into()),
            Seg::Index(0),
            Seg::Key("x".into()),
        ];
        assert_eq!(map.locate(&path), Some(Pos { line: 3, column: 5 }));
    }

    #[test]
    fn yaml_positions_are_those_of_the_text() {
        let text = "flags:\n  - key: a\n    ruls: []\n";
        let map = SourceMap::yaml(text);
        let path = [
            Seg::Key("flags".into()),
            Seg::Index(0),
            Seg::Key("ruls".into()),
        ];
        assert_eq!(map.locate(&path), Some(Pos { line: 3, column: 5 }));
    }

    #[test]
    fn yaml_with_anchors_and_aliases_keeps_its_positions() {
        let text = "flags:\n  - key: a\n    variants: &v { on: true }\n    ruls: []\n  - key: b\n    variants: *v\n    fallthrugh: {}\n";
        let map = SourceMap::yaml(text);
        let at = |i, key: &str| {
            map.locate(&[
                Seg::Key("flags".into()),
                Seg::Index(i),
                Seg::Key(key.into()),
            ])
        };
        assert_eq!(at(0, "ruls"), Some(Pos { line: 4, column: 5 }));
        assert_eq!(at(1, "fallthrugh"), Some(Pos { line: 7, column: 5 }));
        // Inside aliased content: placed at the alias.
        let inside = [
            Seg::Key("flags".into()),
            Seg::Index(1),
            Seg::Key("variants".into()),
            Seg::Key("on".into()),
        ];
        assert_eq!(map.locate(&inside), Some(Pos { line: 6, column: 5 }));
    }

    #[test]
    fn paths_resolve_by_index_key_id_and_dotted_names() {
        let doc = json!({"flags": [{"key": "x"}, {"key": "a.b", "rules": [{"id": "r]1"}]}],
                         "segments": {"beta.users": {}}});
        assert_eq!(
            resolve(&doc, "flags[a.b].rules[r]1].when"),
            vec![
                Seg::Key("flags".into()),
                Seg::Index(1),
                Seg::Key("rules".into()),
                Seg::Index(0)
            ]
        );
        assert_eq!(
            resolve(&doc, "flags[0]"),
            vec![Seg::Key("flags".into()), Seg::Index(0)]
        );
        assert_eq!(
            resolve(&doc, "segments.beta.users"),
            vec![Seg::Key("segments".into()), Seg::Key("beta.users".into())]
        );
        assert_eq!(
            resolve(&doc, "segments[beta.users]"),
            vec![Seg::Key("segments".into()), Seg::Key("beta.users".into())]
        );
    }
}
