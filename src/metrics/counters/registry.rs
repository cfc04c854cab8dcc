//! The registry of (flag key, variant name) cells the counters are kept by: made
//! from each snapshot loaded, so counts survive a snapshot swap, and compacted once
//! flags the current snapshot lacks outnumber it.

use super::{Cell, CellId, Counters, Current, FlagEntry, FlagSpec};
use crate::engine::{ErrorCode, Reason, Snapshot};
use crate::metrics::privacy;
use std::sync::Arc;

impl Counters {
    /// The cell of (`key`, `variant`), made if new.
    fn cell_of(&mut self, key: &Arc<str>, variant: &Arc<str>) -> (u32, CellId) {
        let entry = match self.by_key.get(&**key) {
            Some(&e) => e,
            None => {
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
        };
        let ndims = self.dims.len();
        let flag = &mut self.entries[entry as usize];
        if let Some((_, c)) = flag.variants.iter().find(|(n, _)| **n == **variant) {
            return (entry, *c);
        }
        let c = self.cells.len() as CellId;
        self.cells.push(Cell {
            dims: vec![Vec::new(); ndims],
            ..Cell::default()
        });
        flag.variants.push((variant.clone(), c));
        (entry, c)
    }

    /// Maps a snapshot's flags (keys and variant names, in index order, with their
    /// hidden dimensions) onto the registry.
    fn install(&mut self, flags: Vec<FlagSpec<'_>>) {
        // A first snapshot's keys are all new: one allocation instead of rehashing
        // the registry a dozen times while it grows.
        let new = flags.len().saturating_sub(self.entries.len());
        self.by_key.reserve(new);
        self.entries.reserve(new);
        self.current = flags
            .into_iter()
            .map(
                |FlagSpec {
                     key,
                     variants,
                     hidden,
                 }| {
                    let mut entry = 0;
                    let cells = variants
                        .iter()
                        .map(|v| {
                            let (e, c) = self.cell_of(key, v);
                            entry = e;
                            c
                        })
                        .collect();
                    if variants.is_empty() {
                        entry = self.cell_of(key, &Arc::from("")).0;
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
