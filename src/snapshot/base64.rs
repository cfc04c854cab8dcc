//! Standard base64 (RFC 4648, `+/`, padded), strict: canonical padding and zero
//! trailing bits, as the `base64` crate's `STANDARD` engine decodes. Hand-written
//! because the wasm module needs only these few lines of it.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Marks bytes outside the alphabet in [`SEXTETS`].
const NOT_BASE64: u8 = 0x80;

/// Each byte's sextet, or [`NOT_BASE64`]: one lookup per character.
const SEXTETS: [u8; 256] = {
    let mut table = [NOT_BASE64; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

fn sextet(b: u8) -> Option<u32> {
    let s = SEXTETS[usize::from(b)];
    (s != NOT_BASE64).then_some(u32::from(s))
}

/// Encodes bytes.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes padded standard base64; `None` for anything else.
pub fn decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    decode_after(text, &mut out)?;
    Some(out)
}

/// Decodes padded standard base64 onto the end of `out` (a signed message's prefix,
/// say: the payload is then never copied); `None`, with `out` in an unspecified
/// state, for anything else.
pub fn decode_after(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    if text.len() % 4 != 0 {
        return None;
    }
    let Some((body, last)) = text.split_last_chunk::<4>() else {
        return Some(());
    };
    let start = out.len();
    out.reserve(body.len() / 4 * 3 + 3);
    out.resize(start + body.len() / 4 * 3, 0);
    // Every quad but the last is four alphabet characters: no padding checks, and one
    // test of the OR of the four lookups.
    for (quad, bytes) in body.chunks_exact(4).zip(out[start..].chunks_exact_mut(3)) {
        let (a, b, c, d) = (
            SEXTETS[usize::from(quad[0])],
            SEXTETS[usize::from(quad[1])],
            SEXTETS[usize::from(quad[2])],
            SEXTETS[usize::from(quad[3])],
        );
        if (a | b | c | d) & NOT_BASE64 != 0 {
            return None;
        }
        bytes[0] = a << 2 | b >> 4;
        bytes[1] = b << 4 | c >> 2;
        bytes[2] = c << 6 | d;
    }
    let pad = last.iter().rev().take_while(|&&b| b == b'=').count();
    if pad > 2 {
        return None;
    }
    let mut n = 0u32;
    for &b in &last[..4 - pad] {
        n = n << 6 | sextet(b)?;
    }
    n <<= 6 * pad as u32;
    // Bits below the last kept byte must be zero (canonical encoding).
    if n & ((1 << (8 * pad)) - 1) != 0 {
        return None;
    }
    out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8][..3 - pad]);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn encodes_as_the_base64_crate(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(encode(&bytes), STANDARD.encode(&bytes));
            prop_assert_eq!(decode(encode(&bytes).as_bytes()), Some(bytes.clone()));
            let mut after = b"prefix".to_vec();
            prop_assert_eq!(decode_after(encode(&bytes).as_bytes(), &mut after), Some(()));
            prop_assert_eq!(&after[..6], b"prefix");
            prop_assert_eq!(&after[6..], &bytes[..]);
        }

        #[test]
        fn decodes_as_the_base64_crate(text in "[A-Za-z0-9+/=]{0,12}|[A-Za-z0-9+/]{2,8}={0,3}") {
            prop_assert_eq!(decode(text.as_bytes()), STANDARD.decode(text.as_bytes()).ok(), "{}", text);
        }
    }

    #[test]
    fn rejects_non_canonical_input() {
        for text in [
            "QQ", "QR==", "QQ=", "Q===", "QQ==QQ==", "QUJD\n", " QUJD", "QUJ-",
        ] {
            assert_eq!(decode(text.as_bytes()), None, "{text}");
            assert!(STANDARD.decode(text.as_bytes()).is_err(), "{text}");
        }
    }
}
