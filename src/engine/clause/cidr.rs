//! Address ranges for `in_cidr`: IPv4 and IPv6 alike, as 128-bit prefixes.

/// An address range: the addresses whose first `mask` bits equal `network`'s, both
/// in 128-bit IPv6 form (IPv4 ranges are IPv4-mapped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: u128,
    mask: u128,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `2001:db8::/32`, or a single address (a range of one).
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, len) = match crate::engine::split::split_once(text, b'/') {
            Some((addr, len)) => (addr, Some(len)),
            None => (text, None),
        };
        let ip = crate::engine::context::parse_ip(addr)?;
        // An IPv4 prefix counts in the last 32 bits of the mapped form.
        let offset = if addr.bytes().any(|b| b == b':') {
            0
        } else {
            96
        };
        let bits = match len {
            None => 128,
            Some(len) if len.bytes().all(|b| b.is_ascii_digit()) && !len.is_empty() => {
                let len: u32 = len.parse().ok()?;
                if len > 128 - offset {
                    return None;
                }
                offset + len
            }
            Some(_) => return None,
        };
        Cidr::from_parts(u128::from(ip) & prefix_mask(bits), bits)
    }

    /// The range of `bits` leading bits at `network` (which has no bits past them).
    pub fn from_parts(network: u128, bits: u32) -> Option<Cidr> {
        let mask = prefix_mask(bits);
        (bits <= 128 && network & !mask == 0).then_some(Cidr { network, mask })
    }

    /// The network and its prefix length.
    pub fn parts(&self) -> (u128, u32) {
        (self.network, self.mask.count_ones())
    }

    /// Whether the range holds `ip` (IPv4 addresses in their IPv4-mapped form).
    #[inline]
    pub fn contains(&self, ip: std::net::Ipv6Addr) -> bool {
        u128::from(ip) & self.mask == self.network
    }
}

fn prefix_mask(bits: u32) -> u128 {
    u128::MAX
        .checked_shl(128u32.saturating_sub(bits))
        .unwrap_or(0)
}
