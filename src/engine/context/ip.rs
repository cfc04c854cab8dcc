//! IP address text, read exactly as `str::parse::<std::net::IpAddr>` reads it.
//!
//! Hand-written for the wasm size budget: core's parser (generic over radix and
//! integer width, with its panicking radix checks) is about 2.4 KB of the module for
//! the one `in_cidr` attribute read. The tests hold this one to std's on random and
//! generated text, accepted and refused alike.

use std::net::Ipv6Addr;

/// A cursor over ASCII bytes; every reader restores the position when it fails.
struct Cursor<'a> {
    text: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.text.get(self.at) == Some(&byte);
        self.at += usize::from(hit);
        hit
    }

    /// A number of at most `max_digits` digits in `radix` (10 or 16); a longer run
    /// of digits is no number at all. Without `zero_prefix`, "0" is the only numeral
    /// that may start with a zero.
    fn number(&mut self, radix: u32, max_digits: usize, zero_prefix: bool) -> Option<u32> {
        let start = self.at;
        let mut value = 0u32;
        while let Some(d) = self
            .text
            .get(self.at)
            .and_then(|&b| char::from(b).to_digit(radix))
        {
            value = value * radix + d;
            self.at += 1;
            if self.at - start > max_digits {
                self.at = start;
                return None;
            }
        }
        let digits = self.at - start;
        if digits == 0 || (!zero_prefix && digits > 1 && self.text[start] == b'0') {
            self.at = start;
            return None;
        }
        Some(value)
    }

    /// `sep` (unless `first`), then what `read` reads; nothing consumed on failure.
    fn after<T>(
        &mut self,
        sep: u8,
        first: bool,
        read: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<T> {
        let start = self.at;
        let out = (first || self.eat(sep)).then(|| read(self)).flatten();
        if out.is_none() {
            self.at = start;
        }
        out
    }

    fn ipv4(&mut self) -> Option<[u8; 4]> {
        let start = self.at;
        let mut octets = [0u8; 4];
        for (i, octet) in octets.iter_mut().enumerate() {
            let n = self.after(b'.', i == 0, |c| c.number(10, 3, false));
            match n.and_then(|n| u8::try_from(n).ok()) {
                Some(n) => *octet = n,
                None => {
                    self.at = start;
                    return None;
                }
            }
        }
        Some(octets)
    }

    /// Up to `groups.len()` groups separated by `:`, the last two of which may be an
    /// embedded IPv4 address; how many were read and whether IPv4 ended them.
    fn groups(&mut self, groups: &mut [u16]) -> (usize, bool) {
        let limit = groups.len();
        for i in 0..limit {
            if i + 1 < limit {
                if let Some([a, b, c, d]) = self.after(b':', i == 0, Self::ipv4) {
                    groups[i] = u16::from_be_bytes([a, b]);
                    groups[i + 1] = u16::from_be_bytes([c, d]);
                    return (i + 2, true);
                }
            }
            match self.after(b':', i == 0, |c| c.number(16, 4, true)) {
                // At most four hex digits: the value fits.
                Some(g) => groups[i] = g as u16,
                None => return (i, false),
            }
        }
        (limit, false)
    }

    fn ipv6(&mut self) -> Option<[u16; 8]> {
        let mut head = [0u16; 8];
        let (head_len, head_v4) = self.groups(&mut head);
        if head_len == 8 {
            return Some(head);
        }
        // IPv4 only at the end; `::` stands for at least one zero group.
        if head_v4 || !(self.eat(b':') && self.eat(b':')) {
            return None;
        }
        let mut tail = [0u16; 7];
        let (tail_len, _) = self.groups(&mut tail[..7 - head_len]);
        let mut all = [0u16; 8];
        all[..head_len].copy_from_slice(&head[..head_len]);
        all[8 - tail_len..].copy_from_slice(&tail[..tail_len]);
        Some(all)
    }
}

/// Parses an IPv4 or IPv6 address; IPv4 becomes its IPv4-mapped IPv6 form, so one
/// 128-bit comparison serves both families.
pub(crate) fn parse_ip(text: &str) -> Option<Ipv6Addr> {
    let mut c = Cursor {
        text: text.as_bytes(),
        at: 0,
    };
    // Like std: IPv4 if it reads as IPv4, else IPv6; then nothing may follow.
    let ip = match c.ipv4() {
        Some(v4) => std::net::Ipv4Addr::from(v4).to_ipv6_mapped(),
        None => Ipv6Addr::from(c.ipv6()?),
    };
    (c.at == c.text.len()).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::parse_ip;
    use proptest::prelude::*;
    use std::net::IpAddr;

    fn std_parse(text: &str) -> Option<std::net::Ipv6Addr> {
        match text.parse::<IpAddr>().ok()? {
            IpAddr::V4(v4) => Some(v4.to_ipv6_mapped()),
            IpAddr::V6(v6) => Some(v6),
        }
    }

    #[test]
    fn reads_what_std_reads() {
        for text in [
            "0.0.0.0",
            "255.255.255.255",
            "1.2.3.4",
            "01.2.3.4",
            "1.2.3.04",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.4 ",
            " 1.2.3.4",
            "1..2.3",
            "1.2.3.1234",
            "::",
            "::1",
            "1::",
            ":",
            ":::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1::2::3",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1.2.3.4::",
            "1:2:3:4:5:1.2.3.4",
            "fe80::1%eth0",
            "FE80::ABCD",
            "00000::",
            "0000::",
            "12345::",
            "1:2",
            "[::1]",
            "",
            "1.2.3.4:80",
            "::1.2.3",
            "::1.2.3.4.5",
            "1::2:",
            "é",
            "::ffff:001.2.3.4",
            "0::0.0.0.0",
        ] {
            assert_eq!(parse_ip(text), std_parse(text), "{text:?}");
        }
    }

    fn address_text() -> impl Strategy<Value = String> {
        let group = prop_oneof![
            Just(String::new()),
            "[0-9a-fA-F]{1,5}",
            (0u8..=255, 0u8..=255, 0u8..=255, 0u8..=255)
                .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        ];
        prop::collection::vec(group, 1..10).prop_map(|groups| groups.join(":"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn agrees_with_std_on_random_text(text in "[0-9a-fA-F:.x ]{0,45}") {
            prop_assert_eq!(parse_ip(&text), std_parse(&text));
        }

        #[test]
        fn agrees_with_std_on_ipv4_shapes(text in "(::|::ffff:|1:2:3:4:5:6:)?[0-9]{1,4}(\\.[0-9]{1,4}){0,4}") {
            prop_assert_eq!(parse_ip(&text), std_parse(&text));
        }

        #[test]
        fn agrees_with_std_on_address_shapes(text in address_text()) {
            prop_assert_eq!(parse_ip(&text), std_parse(&text));
        }

        #[test]
        fn reads_every_address_std_writes(bits in any::<u128>(), v4 in any::<u32>()) {
            let v6 = std::net::Ipv6Addr::from(bits);
            prop_assert_eq!(parse_ip(&v6.to_string()), Some(v6));
            let v4 = std::net::Ipv4Addr::from(v4);
            prop_assert_eq!(parse_ip(&v4.to_string()), Some(v4.to_ipv6_mapped()));
        }
    }
}
