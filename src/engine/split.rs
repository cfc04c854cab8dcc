//! Splitting text at an ASCII separator byte.
//!
//! Hand-written for the wasm size budget: `str::split(char)` brings core's
//! `CharSearcher` (a memchr with UTF-8 decoding, about 0.7 KB of the module), while
//! every separator the engine splits at (`.`, `+`, `-`, `/`, `e`, newline) is ASCII,
//! and splitting UTF-8 at an ASCII byte always leaves whole characters.

/// The text before and after the first `sep`, like `str::split_once`.
pub(crate) fn split_once(text: &str, sep: u8) -> Option<(&str, &str)> {
    debug_assert!(sep.is_ascii());
    let at = text.bytes().position(|b| b == sep)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// The pieces of `text` between `sep`s, like `str::split`.
pub fn fields(text: &str, sep: u8) -> Fields<'_> {
    debug_assert!(sep.is_ascii());
    Fields {
        rest: Some(text),
        sep,
    }
}

/// The iterator of [`fields`].
pub struct Fields<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match split_once(rest, self.sep) {
            Some((field, after)) => {
                self.rest = Some(after);
                Some(field)
            }
            None => self.rest.take(),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn splits_as_std_does(text in "[a.\\-é+]{0,12}", sep in prop::sample::select(vec![b'.', b'-', b'+'])) {
            let ours: Vec<&str> = super::fields(&text, sep).collect();
            let std: Vec<&str> = text.split(char::from(sep)).collect();
            prop_assert_eq!(ours, std);
            prop_assert_eq!(super::split_once(&text, sep), text.split_once(char::from(sep)));
        }
    }
}
