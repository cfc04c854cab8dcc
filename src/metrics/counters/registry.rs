//! The registry of (flag key, variant name) cells the counters are kept by: made
//! from each snapshot loaded, so counts survive a snapshot swap, and compacted once
//! flags the current snapshot lacks outnumber it.

use super::{Cell, CellId, Counters, Current, FlagEntry, FlagSpec};
use crate::engine::{ErrorCode, Reason, Snapshot};
use crate::metrics::privacy;
use std::sync::Arc;

impl Counters {
    /// The entry of flag `key`, made if new.
    fn entry_of(&mut self, key: &Arc<str>) -> u32 {
        if let Some(&e) = self.by_key.get(&**key) {
            return e;
        }
        let e = self.entries.len() as u32;
        self.entries.push(FlagEntry {
            key: key.clone(),
            variants: Vec::new(),
            errors: [0; ErrorCode::ALL.len()],
            defaults: [0; Reason::ALL.len()],
        });
        self.by_key.insert(key.clone(), e);
        e
    }

    /// The cell of `variant` in flag entry `entry`, made if new.
    fn cell_in(&mut self, entry: u32, variant: &Arc<str>) -> CellId {
        let ndims = self.dims.len();
        let flag = &mut self.entries[entry as usize];
        if let Some((_, c)) = flag.variants.iter().find(|(n, _)| **n == **variant) {
            return *c;
        }
        let c = self.cells.len() as CellId;
        self.cells.push(Cell {
            dims: vec![Vec::new(); ndims],
            ..Cell::default()
        });
        flag.variants.push((variant.clone(), c));
        c
    }

    /// Maps a snapshot's flags (keys and variant names, in index order, with their
    /// hidden dimensions) onto the registry.
    fn install(&mut self, flags: Vec<FlagSpec<'_>>) {
        // A first snapshot's keys are all new: one allocation instead of rehashing
        // the registry a dozen times while it grows.
        let new = flags.len().saturating_sub(self.entries.len());
        self.by_key.reserve(new);
        self.entries.reserve(new);
        self.cells
            .reserve(flags.iter().map(|f| f.variants.len().max(1)).sum());
        self.current = flags
            .into_iter()
            .map(
                |FlagSpec {
                     key,
                     variants,
                     hidden,
                 }| {
                    // The key is hashed once per flag, not once per variant.
                    let entry = self.entry_of(key);
                    let cells = variants.iter().map(|v| self.cell_in(entry, v)).collect();
                    if variants.is_empty() {
                        self.cell_in(entry, &Arc::from(""));
                    }
                    Current {
                        entry,
                        cells,
                        hidden,
                    }
                },
            )
            .collect();
    }

    /// Called when a new snapshot is loaded: flag keys and, per flag, its variant
    /// names, in index order. No dimension is private (see [`Counters::set_snapshot`]).
    pub fn set_flags(&mut self, flags: &[(String, Vec<String>)]) {
        let shared: Vec<(Arc<str>, Vec<Arc<str>>)> = flags
            .iter()
            .map(|(k, vs)| {
                (
                    k.as_str().into(),
                    vs.iter().map(|v| v.as_str().into()).collect(),
                )
            })
            .collect();
        self.install(
            shared
                .iter()
                .map(|(k, vs)| FlagSpec {
                    key: k,
                    variants: vs.iter().collect(),
                    hidden: Box::default(),
                })
                .collect(),
        );
    }

    /// Called when a new snapshot is loaded; learns which dimensions must never be
    /// counted for which flag: those it declares in `private_attributes`, and the
    /// snapshot's unit ids for every flag.
    pub fn set_snapshot(&mut self, snapshot: &Snapshot) {
        let units = privacy::unit_paths(snapshot);
        let dims = self.config.dimensions.clone();
        self.install(
            snapshot
                .flags()
                .iter()
                .map(|f| {
                    let hidden: Box<[bool]> = dims
                        .iter()
                        .map(|d| privacy::is_withheld(d, &f.private_attributes, &units))
                        .collect();
                    let hidden = if hidden.contains(&true) {
                        hidden
                    } else {
                        Box::default()
                    };
                    FlagSpec {
                        key: &f.key,
                        variants: f.variants.iter().map(|v| &v.name).collect(),
                        hidden,
                    }
                })
                .collect(),
        );
    }

    /// Rebuilds the registry with only the current snapshot's flags.
    pub(super) fn compact(&mut self) {
        type Owned = (Arc<str>, Vec<Arc<str>>, Box<[bool]>);
        let flags: Vec<Owned> = self
            .current
            .iter()
            .map(|c| {
                let e = &self.entries[c.entry as usize];
                let names = c
                    .cells
                    .iter()
                    .filter_map(|cell| {
                        e.variants
                            .iter()
                            .find(|(_, id)| id == cell)
                            .map(|(n, _)| n.clone())
                    })
                    .collect();
                (e.key.clone(), names, c.hidden.clone())
            })
            .collect();
        let old_entries = std::mem::take(&mut self.entries);
        self.by_key.clear();
        self.cells.clear();
        self.install(
            flags
                .iter()
                .map(|(k, vs, h)| FlagSpec {
                    key: k,
                    variants: vs.iter().collect(),
                    hidden: h.clone(),
                })
                .collect(),
        );
        // Served variants follow their flags' new cells (by name).
        let entries = &self.entries;
        let by_key = &self.by_key;
        self.served.remap(|entry, cell| {
            let old = old_entries.get(entry as usize)?;
            let name = old.variants.iter().find(|(_, c)| *c == cell)?.0.clone();
            let new = *by_key.get(&*old.key)?;
            let c = entries[new as usize]
                .variants
                .iter()
                .find(|(n, _)| *n == name)?
                .1;
            Some((new, c))
        });
    }
}
