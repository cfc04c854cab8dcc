//! One small in-place sort for what the wasm module sorts (literal ids, attribute
//! ids, exclusion ranges, a metrics batch's outcomes). Hand-written for size: core's
//! sorts are faster on large inputs but weigh kilobytes per element type, and these
//! lists are short (a flag's literals, a snapshot's attributes).

/// Sorts `v` with `less` (a strict weak order), not stably: heapsort, O(n log n)
/// whatever the input, no allocation.
pub fn sort_by<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let sift = |v: &mut [T], mut root: usize, end: usize| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && less(&v[child], &v[child + 1]) {
            child += 1;
        }
        if !less(&v[root], &v[child]) {
            return;
        }
        v.swap(root, child);
        root = child;
    };
    let n = v.len();
    for start in (0..n / 2).rev() {
        sift(v, start, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(v, 0, end);
    }
}

/// Sorts `v` in ascending order and removes repeats.
pub fn sort_dedup<T: Ord>(v: &mut Vec<T>) {
    sort_by(v, |a, b| a < b);
    v.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sorts_as_core_does(mut v in proptest::collection::vec(any::<(u8, u16)>(), 0..300)) {
            let mut expected = v.clone();
            expected.sort_unstable();
            sort_by(&mut v, |a, b| a < b);
            prop_assert_eq!(&v, &expected);
            let mut d = v.clone();
            sort_dedup(&mut d);
            expected.dedup();
            prop_assert_eq!(d, expected);
        }
    }
}
