//! Writing [`Counters`] as a batch: JSON text in the `Batch` wire format, straight
//! from the flat tables.

use super::{CellId, Counters, Outcome};
use crate::engine::{ErrorCode, Reason};
use crate::jsontext::{push_i64, push_string, push_u64};
use crate::metrics::{BatchMeta, OTHER};

impl Counters {
    /// Writes everything recorded as a batch (JSON text, the `Batch` wire format)
    /// and clears it; `None` when nothing was recorded. Every float goes through
    /// `float`, which appends it to the text (natively, its shortest form; in wasm, a
    /// placeholder its host replaces).
    pub fn write_batch(
        &mut self,
        meta: &BatchMeta,
        float: &mut dyn FnMut(&mut String, f64),
    ) -> Option<String> {
        if !self.dirty {
            return None;
        }
        self.apply_pending_units();
        let mut out = String::with_capacity(256 + self.cells.len() * 48);
        out.push_str("{\"schema\":1,\"batch_id\":");
        push_string(&mut out, &meta.batch_id);
        out.push_str(",\"sdk\":");
        push_string(&mut out, &meta.sdk);
        out.push_str(",\"environment\":");
        push_string(&mut out, &meta.environment);
        if let Some(v) = meta.snapshot_version {
            out.push_str(",\"snapshot_version\":");
            push_u64(&mut out, v);
        }
        out.push_str(",\"window\":{\"start_ms\":");
        push_i64(&mut out, meta.window_start_ms);
        out.push_str(",\"end_ms\":");
        push_i64(&mut out, meta.window_end_ms);
        out.push_str("},\"flags\":{");
        self.write_flags(&mut out);
        out.push_str("},\"unknown_flags\":{");
        for (i, (key, n)) in self.unknown.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_string(&mut out, key);
            out.push(':');
            push_u64(&mut out, *n);
        }
        out.push_str("},\"events\":{");
        self.write_events(&mut out, float);
        out.push_str("},\"audit\":[");
        self.write_audit(&mut out);
        out.push_str("],\"dropped\":{\"audit\":");
        push_u64(&mut out, self.dropped[0]);
        out.push_str(",\"events\":");
        push_u64(&mut out, self.dropped[1]);
        out.push_str(",\"unknown_flags\":");
        push_u64(&mut out, self.dropped[2]);
        out.push_str("}}");
        self.clear();
        Some(out)
    }

    fn write_flags(&self, out: &mut String) {
        let mut first = true;
        for e in &self.entries {
            let served = e
                .variants
                .iter()
                .any(|(_, c)| self.cells[*c as usize].count > 0);
            if !served && e.errors.iter().all(|&n| n == 0) && e.defaults.iter().all(|&n| n == 0) {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            push_string(out, &e.key);
            out.push_str(":{\"variants\":{");
            let mut first_variant = true;
            for (name, c) in &e.variants {
                let cell = &self.cells[*c as usize];
                if cell.count == 0 {
                    continue;
                }
                if !first_variant {
                    out.push(',');
                }
                first_variant = false;
                push_string(out, name);
                out.push_str(":{\"count\":");
                push_u64(out, cell.count);
                out.push_str(",\"reasons\":{");
                write_counts(
                    out,
                    Reason::ALL.iter().map(|r| r.as_str()).zip(cell.reasons),
                );
                out.push('}');
                if !cell.units.is_empty() {
                    out.push_str(",\"units\":");
                    cell.units.write_json(out);
                }
                if cell.dims.iter().any(|t| t.iter().any(|&n| n > 0)) {
                    out.push_str(",\"dimensions\":{");
                    let mut first_dim = true;
                    for ((dim, interner), table) in self
                        .config
                        .dimensions
                        .iter()
                        .zip(&self.dims)
                        .zip(&cell.dims)
                    {
                        if table.iter().all(|&n| n == 0) {
                            continue;
                        }
                        if !first_dim {
                            out.push(',');
                        }
                        first_dim = false;
                        push_string(out, dim);
                        out.push_str(":{");
                        let names = table
                            .iter()
                            .enumerate()
                            .map(|(id, n)| (interner.names.get(id).map_or(OTHER, |s| &**s), *n));
                        write_counts(out, names);
                        out.push('}');
                    }
                    out.push('}');
                }
                out.push('}');
            }
            out.push('}');
            if e.errors.iter().any(|&n| n > 0) {
                out.push_str(",\"errors\":{");
                write_counts(out, ErrorCode::ALL.iter().map(|c| c.as_str()).zip(e.errors));
                out.push('}');
            }
            if e.defaults.iter().any(|&n| n > 0) {
                out.push_str(",\"defaults\":{");
                write_counts(out, Reason::ALL.iter().map(|r| r.as_str()).zip(e.defaults));
                out.push('}');
            }
            out.push('}');
        }
    }

    /// The flag key and variant name of a cell.
    fn names_of(&self, cell: CellId) -> Option<(&str, &str)> {
        self.entries.iter().find_map(|e| {
            e.variants
                .iter()
                .find(|(_, c)| *c == cell)
                .map(|(n, _)| (&*e.key, &**n))
        })
    }

    fn write_events(&self, out: &mut String, float: &mut dyn FnMut(&mut String, f64)) {
        for (i, e) in self.events.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_string(out, &e.name);
            out.push_str(":{\"count\":");
            push_u64(out, e.count);
            if e.unattributed > 0 {
                out.push_str(",\"unattributed\":");
                push_u64(out, e.unattributed);
            }
            out.push_str(",\"attributions\":{");
            // Grouped by flag, as the wire format nests them.
            let mut outcomes: Vec<(&str, &str, &Outcome)> = e
                .outcomes
                .iter()
                .filter_map(|(c, o)| self.names_of(*c).map(|(f, v)| (f, v, o)))
                .collect();
            crate::engine::sort::sort_by(&mut outcomes, |a, b| (a.0, a.1) < (b.0, b.1));
            let mut open: Option<&str> = None;
            for (flag, variant, o) in outcomes {
                if open != Some(flag) {
                    if open.is_some() {
                        out.push_str("},");
                    }
                    push_string(out, flag);
                    out.push_str(":{");
                    open = Some(flag);
                } else {
                    out.push(',');
                }
                push_string(out, variant);
                out.push_str(":{\"count\":");
                push_u64(out, o.count);
                out.push_str(",\"value_sum\":");
                float(out, o.value_sum);
                out.push_str(",\"value_sq_sum\":");
                float(out, o.value_sq_sum);
                out.push_str(",\"value_count\":");
                push_u64(out, o.value_count);
                out.push_str(",\"success\":");
                push_u64(out, o.success);
                out.push_str(",\"failure\":");
                push_u64(out, o.failure);
                if !o.latency.is_empty() {
                    out.push_str(",\"latency\":");
                    o.latency.write_json(out, float);
                }
                out.push('}');
            }
            if open.is_some() {
                out.push('}');
            }
            out.push_str("}}");
        }
    }

    fn write_audit(&self, out: &mut String) {
        for (i, a) in self.audit.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"flag\":");
            push_string(out, &self.entries[a.entry as usize].key);
            if let Some((_, variant)) = a.cell.and_then(|c| self.names_of(c)) {
                out.push_str(",\"variant\":");
                push_string(out, variant);
            }
            out.push_str(",\"reason\":\"");
            out.push_str(a.reason.as_str());
            out.push('"');
            if let Some(unit) = &a.unit {
                out.push_str(",\"unit\":");
                push_string(out, unit);
            }
            out.push_str(",\"at_ms\":");
            push_i64(out, a.at_ms);
            out.push('}');
        }
    }
}

/// Writes `name: count` pairs, leaving out zeros.
fn write_counts<'a>(out: &mut String, counts: impl Iterator<Item = (&'a str, u64)>) {
    let mut first = true;
    for (name, n) in counts {
        if n == 0 {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        push_string(out, name);
        out.push(':');
        push_u64(out, n);
    }
}
