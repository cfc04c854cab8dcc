//! Substring search for the `contains` operator: Knuth–Morris–Pratt over bytes,
//! its table built once when the snapshot loads. Linear in the text whatever the
//! needle, like the standard library's search, whose code (with the formatting its
//! panics link in) cost the wasm module about 4 KB; hand-written for that reason.

/// A needle with its failure table: `fail[i]` is the length of the longest proper
/// prefix of `needle[..=i]` that is also its suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Needle {
    text: Box<str>,
    fail: Box<[u32]>,
}

impl Needle {
    pub(crate) fn new(text: &str) -> Needle {
        let bytes = text.as_bytes();
        let mut fail = vec![0u32; bytes.len()];
        let mut k = 0usize;
        for i in 1..bytes.len() {
            while k > 0 && bytes[i] != bytes[k] {
                k = fail[k - 1] as usize;
            }
            if bytes[i] == bytes[k] {
                k += 1;
            }
            fail[i] = k as u32;
        }
        Needle {
            text: text.into(),
            fail: fail.into_boxed_slice(),
        }
    }

    /// Whether `hay` contains the needle (an empty needle is in every text).
    pub(crate) fn is_in(&self, hay: &str) -> bool {
        let needle = self.text.as_bytes();
        if needle.is_empty() {
            return true;
        }
        let mut k = 0usize;
        for &b in hay.as_bytes() {
            while k > 0 && needle.get(k) != Some(&b) {
                k = self.fail.get(k - 1).map_or(0, |&f| f as usize);
            }
            if needle.get(k) == Some(&b) {
                k += 1;
            }
            if k == needle.len() {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::Needle;

    #[test]
    fn finds_what_str_contains_finds() {
        let hays = [
            "",
            "a",
            "aaab",
            "abababca",
            "x ababac y",
            "ünïcödé",
            "aabaabaaa",
        ];
        let needles = [
            "", "a", "b", "ab", "abac", "ababca", "ïc", "aabaaa", "zz", "aaab",
        ];
        for hay in hays {
            for needle in needles {
                assert_eq!(
                    Needle::new(needle).is_in(hay),
                    hay.contains(needle),
                    "{needle:?} in {hay:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_str_contains(hay in "[abc]{0,40}", needle in "[abc]{0,6}") {
            proptest::prop_assert_eq!(Needle::new(&needle).is_in(&hay), hay.contains(&*needle));
        }
    }

    #[test]
    fn long_repetitive_texts_stay_linear() {
        let hay = "a".repeat(200_000);
        let needle = format!("{}b", "a".repeat(1000));
        assert!(!Needle::new(&needle).is_in(&hay));
        assert!(Needle::new(&needle).is_in(&format!("{hay}b")));
    }
}
