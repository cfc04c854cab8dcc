//! A fixed-bucket latency histogram, mergeable across edges and batches.

/// Finite bucket upper bounds in milliseconds; a last, unbounded bucket follows.
pub const LATENCY_BOUNDS_MS: [f64; 13] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0,
];
const BUCKETS: usize = LATENCY_BOUNDS_MS.len() + 1;

/// Latencies in fixed buckets: `[0, 1], (1, 2], (2, 5], … (5000, 10000], (10000, ∞)`,
/// with the smallest and largest latency recorded.
///
/// In a batch it is `{"bounds_ms": [1, 2, …, 10000], "counts": [14 numbers], "sum_ms",
/// "count", "min_ms", "max_ms"}`: `counts` has one more entry than `bounds_ms`, the
/// unbounded bucket. `min_ms`/`max_ms` are absent when empty, and in batches from
/// SDKs that predate them (quantiles are then estimated from the buckets alone).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(
    feature = "authoring",
    derive(serde::Serialize, serde::Deserialize),
    serde(into = "Wire", try_from = "Wire")
)]
pub struct LatencyHistogram {
    counts: [u64; BUCKETS],
    sum_ms: f64,
    count: u64,
    /// Smallest and largest latency, when known for every observation.
    range: Option<(f64, f64)>,
}

/// The bucket `ms` falls in.
fn bucket_of(ms: f64) -> usize {
    LATENCY_BOUNDS_MS.partition_point(|&b| b < ms)
}

impl LatencyHistogram {
    /// Records one latency. Negative, NaN and infinite values are ignored.
    pub fn record(&mut self, ms: f64) {
        if !ms.is_finite() || ms < 0.0 {
            return;
        }
        self.range = match (self.count, self.range) {
            (0, _) => Some((ms, ms)),
            (_, Some((lo, hi))) => Some((lo.min(ms), hi.max(ms))),
            (_, None) => None,
        };
        self.counts[bucket_of(ms)] += 1;
        self.sum_ms += ms;
        self.count += 1;
    }

    /// Adds `other`'s observations to this histogram (counts saturate at
    /// `u64::MAX`, so `count` may then exceed the buckets' true sum).
    pub fn merge(&mut self, other: &LatencyHistogram) {
        if other.count > 0 {
            self.range = match (self.count, self.range, other.range) {
                (0, _, theirs) => theirs,
                (_, Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
                _ => None,
            };
        }
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a = a.saturating_add(b);
        }
        self.sum_ms += other.sum_ms;
        self.count = self.count.saturating_add(other.count);
    }

    /// Number of latencies recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Sum of the latencies recorded, in milliseconds.
    pub fn sum(&self) -> f64 {
        self.sum_ms
    }

    /// True when nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Observations per bucket (the last is the unbounded bucket).
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Mean latency in milliseconds (from the sum, kept within the recorded range so
    /// rounding in the sum never puts it outside: constant latencies have exactly
    /// that mean), or `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        let mean = (self.count > 0).then(|| self.sum_ms / self.count as f64)?;
        Some(self.range.map_or(mean, |(lo, hi)| mean.clamp(lo, hi)))
    }

    /// The smallest latency recorded, when known.
    pub fn min(&self) -> Option<f64> {
        self.range.map(|r| r.0)
    }

    /// The largest latency recorded, when known.
    pub fn max(&self) -> Option<f64> {
        self.range.map(|r| r.1)
    }

    /// Estimated `q`-quantile (`0.95` for p95) in milliseconds, interpolating linearly
    /// inside the bucket that holds it, that bucket narrowed to the latencies actually
    /// recorded: so `min ≤ p50 ≤ p95 ≤ max`, and constant latencies give exactly that
    /// latency (never a figure below their mean). Without a recorded range (batches
    /// from older SDKs) the bucket's bounds are used, and the unbounded bucket reads
    /// as its lower bound (10 000 ms). `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.counts.iter().fold(0u64, |a, &c| a.saturating_add(c));
        if total == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut below = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            if c > 0 && below.saturating_add(c) as f64 >= rank {
                let mut lower = if i == 0 {
                    0.0
                } else {
                    LATENCY_BOUNDS_MS[i - 1]
                };
                let mut upper = LATENCY_BOUNDS_MS.get(i).copied();
                if let Some((lo, hi)) = self.range {
                    lower = lower.max(lo);
                    upper = Some(upper.map_or(hi, |u| u.min(hi)));
                }
                let Some(upper) = upper else {
                    return Some(lower);
                };
                let within = ((rank - below as f64) / c as f64).max(0.0);
                return Some(lower + (upper - lower) * within);
            }
            below = below.saturating_add(c);
        }
        Some(LATENCY_BOUNDS_MS[BUCKETS - 2])
    }
}

/// The batch form of a histogram.
#[cfg(feature = "authoring")]
#[derive(serde::Serialize, serde::Deserialize)]
struct Wire {
    bounds_ms: Vec<f64>,
    counts: Vec<u64>,
    sum_ms: f64,
    count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_ms: Option<f64>,
}

impl LatencyHistogram {
    /// Appends the batch form (see the type's documentation) to JSON text, floats
    /// through `float`.
    pub(crate) fn write_json(&self, out: &mut String, float: &mut dyn FnMut(&mut String, f64)) {
        use crate::jsontext::push_u64;
        out.push_str("{\"bounds_ms\":[");
        for (i, b) in LATENCY_BOUNDS_MS.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Whole milliseconds, every one.
            push_u64(out, *b as u64);
        }
        out.push_str("],\"counts\":[");
        for (i, c) in self.counts.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_u64(out, *c);
        }
        out.push_str("],\"sum_ms\":");
        float(out, self.sum_ms);
        out.push_str(",\"count\":");
        push_u64(out, self.count);
        if let Some((lo, hi)) = self.range {
            out.push_str(",\"min_ms\":");
            float(out, lo);
            out.push_str(",\"max_ms\":");
            float(out, hi);
        }
        out.push('}');
    }
}

#[cfg(feature = "authoring")]
impl From<LatencyHistogram> for Wire {
    fn from(h: LatencyHistogram) -> Wire {
        Wire {
            bounds_ms: LATENCY_BOUNDS_MS.to_vec(),
            counts: h.counts.to_vec(),
            sum_ms: h.sum_ms,
            count: h.count,
            min_ms: h.min(),
            max_ms: h.max(),
        }
    }
}

#[cfg(feature = "authoring")]
impl TryFrom<Wire> for LatencyHistogram {
    type Error = &'static str;

    fn try_from(w: Wire) -> Result<LatencyHistogram, &'static str> {
        if w.bounds_ms[..] != LATENCY_BOUNDS_MS[..] {
            return Err("latency histogram bounds differ from this version's");
        }
        let counts: [u64; BUCKETS] = w
            .counts
            .try_into()
            .map_err(|_| "latency histogram needs one count per bucket")?;
        let total = counts
            .iter()
            .try_fold(0u64, |sum, &c| sum.checked_add(c))
            .ok_or("latency histogram counts overflow")?;
        if total != w.count {
            return Err("latency histogram counts do not add up");
        }
        if !w.sum_ms.is_finite() || w.sum_ms < 0.0 {
            return Err("latency histogram sum must be a finite, non-negative number");
        }
        let range = match (w.min_ms, w.max_ms) {
            (None, None) => None,
            (Some(lo), Some(hi)) => {
                // The extremes must sit in the first and last buckets holding
                // anything: quantiles are narrowed to them.
                let first = counts.iter().position(|&c| c > 0);
                let last = counts.iter().rposition(|&c| c > 0);
                let fits = lo.is_finite()
                    && hi.is_finite()
                    && lo >= 0.0
                    && lo <= hi
                    && first == Some(bucket_of(lo))
                    && last == Some(bucket_of(hi));
                if !fits {
                    return Err("latency histogram min_ms/max_ms do not fit its counts");
                }
                Some((lo, hi))
            }
            _ => return Err("latency histogram needs both min_ms and max_ms, or neither"),
        };
        Ok(LatencyHistogram {
            counts,
            sum_ms: w.sum_ms,
            count: w.count,
            range,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_mean_and_p95() {
        let mut h = LatencyHistogram::default();
        assert_eq!(h.mean(), None);
        assert_eq!(h.quantile(0.95), None);
        // 1..=100 ms, one each.
        for ms in 1..=100 {
            h.record(ms as f64);
        }
        h.record(f64::NAN);
        h.record(-1.0);
        assert_eq!(h.count(), 100);
        assert_eq!(h.sum(), 5050.0);
        assert_eq!(h.mean(), Some(50.5));
        // Buckets: [..1]=1, (1,2]=1, (2,5]=3, (5,10]=5, (10,20]=10, (20,50]=30, (50,100]=50.
        assert_eq!(&h.counts()[..8], &[1, 1, 3, 5, 10, 30, 50, 0]);
        // p95: rank 95 lies in (50, 100], 45 of its 50 observations in: 50 + 50 * 0.9.
        assert_eq!(h.quantile(0.95), Some(95.0));
        assert_eq!(h.quantile(0.5), Some(50.0));
        assert_eq!(h.quantile(1.0), Some(100.0));
    }

    #[test]
    fn unbounded_bucket_and_merge() {
        let mut a = LatencyHistogram::default();
        a.record(0.0);
        a.record(25_000.0);
        let mut b = LatencyHistogram::default();
        b.record(10_000.0);
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.counts()[0], 1);
        assert_eq!(a.counts()[12], 1);
        assert_eq!(a.counts()[13], 1);
        assert_eq!((a.min(), a.max()), (Some(0.0), Some(25_000.0)));
        // The unbounded bucket reaches as far as the largest latency recorded.
        assert_eq!(a.quantile(1.0), Some(25_000.0));
        assert!(a
            .quantile(0.99)
            .is_some_and(|q| q > 10_000.0 && q < 25_000.0));
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.starts_with(r#"{"bounds_ms":[1.0,2.0,5.0,"#), "{json}");
        assert!(
            json.ends_with(r#""min_ms":0.0,"max_ms":25000.0}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<LatencyHistogram>(&json).unwrap(), a);
        let bad = json.replace("\"count\":3", "\"count\":4");
        assert!(serde_json::from_str::<LatencyHistogram>(&bad).is_err());
        // Extremes that contradict the counts are refused; a batch from an SDK
        // that sends none is estimated from its buckets (the unbounded one as
        // its lower bound).
        for (from, to) in [
            ("\"max_ms\":25000.0", "\"max_ms\":9000.0"),
            (",\"max_ms\":25000.0", ""),
        ] {
            let bad = json.replace(from, to);
            assert!(
                serde_json::from_str::<LatencyHistogram>(&bad).is_err(),
                "{bad}"
            );
        }
        let old = json.replace(",\"min_ms\":0.0,\"max_ms\":25000.0", "");
        let old: LatencyHistogram = serde_json::from_str(&old).unwrap();
        assert_eq!((old.min(), old.quantile(0.99)), (None, Some(10_000.0)));
        let mut merged = a.clone();
        merged.merge(&old);
        assert_eq!(merged.max(), None, "one part's extremes are unknown");
    }
}
