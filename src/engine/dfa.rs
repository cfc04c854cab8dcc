//! Regular expressions as engines run them: a deterministic automaton over the
//! bytes of the text, built where the flags are authored (`dfa_build`, feature
//! `authoring`) and shipped in the payload. An edge never compiles a pattern:
//! matching is one table lookup per byte, linear in the text whatever the pattern,
//! and the wasm module carries no regex compiler (one cost 28 KB of its code).
//! Hand-written for that reason: the matcher and its checks are a few dozen lines.

/// Most states an automaton may have (the dead state included).
pub const MAX_STATES: usize = 4096;

/// Most transitions an automaton may have: states × byte classes.
pub const MAX_TRANSITIONS: usize = 1 << 18;

/// The state every automaton has at index 0: no match is possible from it.
pub const DEAD: u16 = 0;

/// Bit of a state's flags: a match ended before the byte that led here.
pub const MATCHED: u8 = 1;

/// Bit of a state's flags: the text matches if it ends in this state.
pub const MATCHES_AT_END: u8 = 2;

/// A compiled pattern: bytes fall into classes that every state treats alike, and
/// `next[state * classes + class]` is the state after a byte of that class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dfa {
    class_of: Box<[u8; 256]>,
    classes: u16,
    start: u16,
    next: Box<[u16]>,
    flags: Box<[u8]>,
}

impl Dfa {
    /// An automaton from its parts, checked so that matching can neither panic nor
    /// loop: every class and state index is in range, state 0 is dead (it goes
    /// nowhere else and matches nothing), flags carry only known bits.
    pub fn from_parts(
        class_of: [u8; 256],
        classes: usize,
        start: usize,
        next: Vec<u16>,
        flags: Vec<u8>,
    ) -> Result<Dfa, &'static str> {
        let states = flags.len();
        if !(1..=MAX_STATES).contains(&states) {
            return Err("a pattern's automaton has too many states");
        }
        if !(1..=256).contains(&classes) || class_of.iter().any(|&c| usize::from(c) >= classes) {
            return Err("a pattern's byte classes are out of range");
        }
        if states * classes > MAX_TRANSITIONS || next.len() != states * classes {
            return Err("a pattern's transition table has the wrong size");
        }
        if start >= states || next.iter().any(|&s| usize::from(s) >= states) {
            return Err("a pattern's automaton names a state it lacks");
        }
        if flags[0] != 0 || next[..classes].iter().any(|&s| s != DEAD) {
            return Err("a pattern's dead state is not dead");
        }
        if flags.iter().any(|&f| f & !(MATCHED | MATCHES_AT_END) != 0) {
            return Err("a pattern's automaton has unknown state flags");
        }
        Ok(Dfa {
            class_of: Box::new(class_of),
            classes: classes as u16,
            start: start as u16,
            next: next.into_boxed_slice(),
            flags: flags.into_boxed_slice(),
        })
    }

    /// Whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &[u8]) -> bool {
        let classes = usize::from(self.classes);
        let mut state = usize::from(self.start);
        for &b in text {
            let class = usize::from(self.class_of[usize::from(b)]);
            // In range: `from_parts` checked every index.
            state = usize::from(self.next[state * classes + class]);
            let flags = self.flags[state];
            if flags & MATCHED != 0 {
                return true;
            }
            if state == usize::from(DEAD) {
                return false;
            }
        }
        self.flags[state] & (MATCHED | MATCHES_AT_END) != 0
    }

    /// Which class each byte is in.
    pub fn class_of(&self) -> &[u8; 256] {
        &self.class_of
    }

    /// How many byte classes there are.
    pub fn classes(&self) -> usize {
        usize::from(self.classes)
    }

    /// The state matching starts in.
    pub fn start(&self) -> usize {
        usize::from(self.start)
    }

    /// The transition table, state by state.
    pub fn next(&self) -> &[u16] {
        &self.next
    }

    /// Each state's flags ([`MATCHED`], [`MATCHES_AT_END`]).
    pub fn flags(&self) -> &[u8] {
        &self.flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ab` anywhere: classes {a}, {b}, other; states dead, start, saw-a, matched.
    fn ab() -> Dfa {
        let mut class_of = [2u8; 256];
        class_of[usize::from(b'a')] = 0;
        class_of[usize::from(b'b')] = 1;
        #[rustfmt::skip]
        let next = vec![
            0, 0, 0, // dead
            2, 1, 1, // start
            2, 3, 1, // saw a
            3, 3, 3, // matched
        ];
        Dfa::from_parts(class_of, 3, 1, next, vec![0, 0, 0, MATCHED]).unwrap()
    }

    #[test]
    fn matches_by_table() {
        let dfa = ab();
        assert!(dfa.is_match(b"xxab"));
        assert!(dfa.is_match(b"ab"));
        assert!(!dfa.is_match(b"a b"));
        assert!(!dfa.is_match(b""));
    }

    #[test]
    fn refuses_tables_that_could_misbehave() {
        let good = ab();
        let parts = |d: &Dfa| {
            (
                *d.class_of(),
                d.classes(),
                d.start(),
                d.next().to_vec(),
                d.flags().to_vec(),
            )
        };
        let (c, n, s, next, flags) = parts(&good);
        assert!(Dfa::from_parts(c, n, 9, next.clone(), flags.clone()).is_err());
        let mut bad = next.clone();
        bad[4] = 7;
        assert!(Dfa::from_parts(c, n, s, bad, flags.clone()).is_err());
        let mut bad = next.clone();
        bad[0] = 1;
        assert!(Dfa::from_parts(c, n, s, bad, flags.clone()).is_err());
        let mut bad_classes = c;
        bad_classes[0] = 3;
        assert!(Dfa::from_parts(bad_classes, n, s, next.clone(), flags.clone()).is_err());
        assert!(Dfa::from_parts(c, n, s, next[1..].to_vec(), flags.clone()).is_err());
        assert!(Dfa::from_parts(c, n, s, next.clone(), vec![0, 0, 0, 4]).is_err());
        assert!(Dfa::from_parts(c, n, s, next, vec![1, 0, 0, 1]).is_err());
    }
}
