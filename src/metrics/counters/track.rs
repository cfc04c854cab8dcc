//! Tracked outcomes (`track()`): counted per event name and attributed cell.

use super::{add, CellId, Counters, Event, Outcome};
use crate::metrics::MAX_NAME_LEN;

impl Counters {
    /// A tracked outcome attributed to the given (flag index, variant index) pairs of
    /// the current snapshot; with none that exists, unattributed.
    pub fn track(
        &mut self,
        event: &str,
        attributions: &[(u32, u16)],
        value: Option<f64>,
        latency_ms: Option<f64>,
        success: Option<bool>,
    ) {
        for &(f, _) in attributions {
            self.ensure(f);
        }
        let cells: Vec<CellId> = attributions
            .iter()
            .filter_map(|&(f, v)| {
                self.current
                    .get(f as usize)?
                    .cells
                    .get(usize::from(v))
                    .copied()
            })
            .collect();
        self.track_cells(event, &cells, value, latency_ms, success);
    }

    /// A tracked outcome of the unit with hash `unit_hash`, attributed to the
    /// variants it was served by targeting or a rollout (see
    /// [`super::Aggregator::track_served`]).
    pub fn track_served(
        &mut self,
        event: &str,
        unit_hash: Option<u64>,
        value: Option<f64>,
        latency_ms: Option<f64>,
        success: Option<bool>,
    ) {
        let cells: Vec<CellId> = match unit_hash {
            Some(h) => self
                .current
                .iter()
                .filter_map(|c| self.served.cell(h, c.entry))
                .collect(),
            None => Vec::new(),
        };
        self.track_cells(event, &cells, value, latency_ms, success);
    }

    fn track_cells(
        &mut self,
        event: &str,
        cells: &[CellId],
        value: Option<f64>,
        latency_ms: Option<f64>,
        success: Option<bool>,
    ) {
        self.dirty = true;
        let index = match self.events.iter().position(|e| *e.name == *event) {
            Some(i) => i,
            None if self.events.len() < self.config.max_event_names
                && event.len() <= MAX_NAME_LEN =>
            {
                self.events.push(Event {
                    name: event.into(),
                    count: 0,
                    unattributed: 0,
                    outcomes: Vec::new(),
                });
                self.events.len() - 1
            }
            None => {
                add(&mut self.dropped[1], 1);
                return;
            }
        };
        let e = &mut self.events[index];
        add(&mut e.count, 1);
        if cells.is_empty() {
            add(&mut e.unattributed, 1);
        }
        let value = value.filter(|v| v.is_finite());
        for &cell in cells {
            let o = match e.outcomes.iter().position(|(c, _)| *c == cell) {
                Some(i) => &mut e.outcomes[i].1,
                None => {
                    e.outcomes.push((cell, Outcome::default()));
                    &mut e.outcomes.last_mut().expect("pushed").1
                }
            };
            add(&mut o.count, 1);
            if let Some(v) = value {
                o.value_sum += v;
                o.value_sq_sum += v * v;
                add(&mut o.value_count, 1);
            }
            match success {
                Some(true) => add(&mut o.success, 1),
                Some(false) => add(&mut o.failure, 1),
                None => {}
            }
            if let Some(ms) = latency_ms {
                o.latency.record(ms);
            }
        }
    }
}
