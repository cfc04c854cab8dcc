//! Compiles a `matches` pattern into the automaton engines run ([`Dfa`]), where
//! flags are authored (the origin, the CLI): parsed by `regex-syntax`, determinised
//! by `regex-automata`, then explored from its start state into our own table.
//!
//! The syntax is Rust's `regex`. Perl classes (`\d`, `\w`, `\s`) and word
//! boundaries are ASCII, as in RE2 and `regex-lite`, which keeps automata small
//! (Unicode `\w` alone is thousands of states); `.` and classes match whole code
//! points; case-insensitive patterns fold case by Unicode's simple folding.
//! Unicode classes (`\p{..}`) are refused, and so is a pattern whose automaton
//! would exceed [`MAX_STATES`] or [`MAX_TRANSITIONS`].

use super::dfa::{Dfa, DEAD, MATCHED, MATCHES_AT_END, MAX_STATES, MAX_TRANSITIONS};
use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::nfa::thompson;
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};
use regex_syntax::ast::{
    self, Ast, ClassAscii, ClassAsciiKind, ClassBracketed, ClassPerl, ClassPerlKind, ClassSet,
    ClassSetItem, Flag, Flags, FlagsItem, FlagsItemKind, GroupKind,
};
use std::collections::HashMap;

/// How deep groups and repetitions may nest.
const NEST_LIMIT: u32 = 64;

/// Working memory allowed for determinising one pattern.
const BUILD_LIMIT: usize = 2 << 20;

/// Compiles `pattern` (case-insensitive with `ignore_case`); the error says why not.
pub fn build(pattern: &str, ignore_case: bool) -> Result<Dfa, String> {
    let mut ast = ast::parse::ParserBuilder::new()
        .nest_limit(NEST_LIMIT)
        .build()
        .parse(pattern)
        .map_err(|e| format!("{} (at byte {})", e.kind(), e.span().start.offset))?;
    ascii_perl(&mut ast)?;
    let hir = regex_syntax::hir::translate::TranslatorBuilder::new()
        .case_insensitive(ignore_case)
        .build()
        .translate(pattern, &ast)
        .map_err(|e| format!("{} (at byte {})", e.kind(), e.span().start.offset))?;
    let nfa = thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .which_captures(thompson::WhichCaptures::None)
                .nfa_size_limit(Some(BUILD_LIMIT)),
        )
        .build_from_hir(&hir)
        .map_err(|_| too_complex())?;
    let dense = dense::Builder::new()
        .configure(
            dense::Config::new()
                .match_kind(MatchKind::All)
                .start_kind(StartKind::Unanchored)
                .minimize(true)
                .dfa_size_limit(Some(BUILD_LIMIT))
                .determinize_size_limit(Some(BUILD_LIMIT)),
        )
        .build_from_nfa(&nfa)
        .map_err(|_| too_complex())?;
    explore(&dense)
}

fn too_complex() -> String {
    format!("the pattern is too complex: an edge runs patterns of at most {MAX_STATES} states")
}

/// Our table from `dense`'s states reachable from its start (for text that starts
/// at the beginning: engines always match whole attribute values), the dead state
/// first, then bytes grouped into the classes every state treats alike.
fn explore(dense: &dense::DFA<Vec<u32>>) -> Result<Dfa, String> {
    let begin = dense
        .start_state(&start::Config::new().anchored(Anchored::No))
        .map_err(|e| e.to_string())?;
    let mut index: HashMap<StateID, u16> = HashMap::new();
    let mut order: Vec<StateID> = Vec::new();
    let mut number = |id: StateID, order: &mut Vec<StateID>| -> Result<u16, String> {
        if dense.is_dead_state(id) {
            return Ok(DEAD);
        }
        if dense.is_quit_state(id) {
            return Err("the pattern needs look-behind an edge does not run".into());
        }
        if let Some(&n) = index.get(&id) {
            return Ok(n);
        }
        let n = order.len() + 1;
        if n >= MAX_STATES {
            return Err(too_complex());
        }
        index.insert(id, n as u16);
        order.push(id);
        Ok(n as u16)
    };
    let start = number(begin, &mut order)?;
    // Rows by byte, for every state but the dead one.
    let mut rows: Vec<[u16; 256]> = Vec::new();
    let mut flags = vec![0u8];
    let mut at = 0;
    while at < order.len() {
        let id = order[at];
        let mut row = [DEAD; 256];
        for (b, next) in row.iter_mut().enumerate() {
            *next = number(dense.next_state(id, b as u8), &mut order)?;
        }
        rows.push(row);
        let mut f = 0;
        if dense.is_match_state(id) {
            f |= MATCHED;
        }
        if dense.is_match_state(dense.next_eoi_state(id)) {
            f |= MATCHES_AT_END;
        }
        flags.push(f);
        at += 1;
    }
    // Bytes every state sends to the same place share a class.
    let mut class_of = [0u8; 256];
    let mut columns: HashMap<Vec<u16>, u8> = HashMap::new();
    let mut representatives: Vec<usize> = Vec::new();
    for (b, class) in class_of.iter_mut().enumerate() {
        let column: Vec<u16> = rows.iter().map(|row| row[b]).collect();
        let next_class = columns.len() as u8;
        *class = *columns.entry(column).or_insert_with(|| {
            representatives.push(b);
            next_class
        });
    }
    let classes = representatives.len();
    if flags.len() * classes > MAX_TRANSITIONS {
        return Err(too_complex());
    }
    let mut next = vec![DEAD; classes];
    for row in &rows {
        next.extend(representatives.iter().map(|&b| row[b]));
    }
    Dfa::from_parts(class_of, classes, usize::from(start), next, flags).map_err(str::to_string)
}

/// Rewrites Perl classes to their ASCII meaning and makes word boundaries ASCII;
/// refuses Unicode classes.
fn ascii_perl(ast: &mut Ast) -> Result<(), String> {
    match ast {
        Ast::ClassPerl(perl) => {
            let span = perl.span;
            *ast = Ast::class_bracketed(ClassBracketed {
                span,
                negated: false,
                kind: ClassSet::Item(ascii_item(perl)),
            });
        }
        Ast::ClassUnicode(_) => return Err(unicode_class()),
        Ast::ClassBracketed(class) => class_set(&mut class.kind)?,
        Ast::Assertion(assertion) => {
            use ast::AssertionKind::*;
            if !matches!(assertion.kind, StartLine | EndLine | StartText | EndText) {
                // `(?-u:…)` around the assertion.
                let span = assertion.span;
                let inner = std::mem::replace(ast, Ast::empty(span));
                let off = |kind| FlagsItem { span, kind };
                *ast = Ast::group(ast::Group {
                    span,
                    kind: GroupKind::NonCapturing(Flags {
                        span,
                        items: vec![
                            off(FlagsItemKind::Negation),
                            off(FlagsItemKind::Flag(Flag::Unicode)),
                        ],
                    }),
                    ast: Box::new(inner),
                });
            }
        }
        Ast::Repetition(rep) => ascii_perl(&mut rep.ast)?,
        Ast::Group(group) => ascii_perl(&mut group.ast)?,
        Ast::Alternation(alt) => {
            for a in &mut alt.asts {
                ascii_perl(a)?;
            }
        }
        Ast::Concat(concat) => {
            for a in &mut concat.asts {
                ascii_perl(a)?;
            }
        }
        Ast::Empty(_) | Ast::Flags(_) | Ast::Literal(_) | Ast::Dot(_) => {}
    }
    Ok(())
}

fn class_set(set: &mut ClassSet) -> Result<(), String> {
    match set {
        ClassSet::Item(item) => class_item(item),
        ClassSet::BinaryOp(op) => {
            class_set(&mut op.lhs)?;
            class_set(&mut op.rhs)
        }
    }
}

fn class_item(item: &mut ClassSetItem) -> Result<(), String> {
    match item {
        ClassSetItem::Perl(perl) => *item = ascii_item(perl),
        ClassSetItem::Unicode(_) => return Err(unicode_class()),
        ClassSetItem::Bracketed(class) => class_set(&mut class.kind)?,
        ClassSetItem::Union(union) => {
            for i in &mut union.items {
                class_item(i)?;
            }
        }
        ClassSetItem::Empty(_)
        | ClassSetItem::Literal(_)
        | ClassSetItem::Range(_)
        | ClassSetItem::Ascii(_) => {}
    }
    Ok(())
}

/// `\d`, `\s`, `\w` (or negated) as the POSIX class of the same ASCII meaning.
fn ascii_item(perl: &ClassPerl) -> ClassSetItem {
    ClassSetItem::Ascii(ClassAscii {
        span: perl.span,
        kind: match perl.kind {
            ClassPerlKind::Digit => ClassAsciiKind::Digit,
            ClassPerlKind::Space => ClassAsciiKind::Space,
            ClassPerlKind::Word => ClassAsciiKind::Word,
        },
        negated: perl.negated,
    })
}

fn unicode_class() -> String {
    "Unicode classes (\\p{..}, \\P{..}) are not supported".into()
}

#[cfg(test)]
mod tests {
    use super::build;

    fn is_match(pattern: &str, text: &str) -> bool {
        build(pattern, false).unwrap().is_match(text.as_bytes())
    }

    #[test]
    fn agrees_with_the_regex_semantics_it_documents() {
        let cases: &[(&str, &str, bool)] = &[
            ("^user-\\d+@example\\.com$", "user-42@example.com", true),
            (
                "^user-\\d+@example\\.com$",
                "user-42@example.com.evil",
                false,
            ),
            ("example", "an example text", true),
            ("", "", true),
            ("", "anything", true),
            ("a|b", "xxb", true),
            ("^$", "", true),
            ("^$", "x", false),
            ("(?i)abc", "xABC", true),
            ("\\d", "\u{0665}", false),
            ("\\D", "\u{0665}", true),
            ("\\w", "δ", false),
            ("[^a]", "δ", true),
            ("^.$", "δ", true),
            ("\\bfoo\\b", "a foo b", true),
            ("\\bfoo\\b", "afoob", false),
            ("[\\d_]+$", "a_1", true),
            ("(?m)^b$", "a\nb\nc", true),
            ("a.c", "a\nc", false),
            ("(?s)a.c", "a\nc", true),
            ("x{2,3}y", "axxy", true),
            ("x{2,3}y", "axy", false),
        ];
        for &(pattern, text, expected) in cases {
            assert_eq!(is_match(pattern, text), expected, "{pattern:?} on {text:?}");
        }
        let ic = build("straße", true).unwrap();
        assert!(ic.is_match("STRAßE".as_bytes()));
    }

    #[test]
    fn refuses_what_an_edge_cannot_run() {
        for bad in ["(", "a{", "\\pL", "[\\p{Greek}]", "(?<=a)b", "\\1"] {
            assert!(build(bad, false).is_err(), "{bad:?}");
        }
        // The classic exponential blow-up: the 20th character from the end.
        match build("a[ab]{20}$", false) {
            Err(e) => assert!(e.contains("too complex"), "{e}"),
            Ok(_) => panic!("an automaton of a million states was built"),
        }
    }
}
