//! The registry of (flag key, variant name) cells the counters are kept by: made
//! from each snapshot loaded, so counts survive a snapshot swap, and compacted once
//! flags the current snapshot lacks outnumber it.

use super::{Cell, CellId, Counters, Current, FlagEntry, FlagSpec};
use crate::engine::{ErrorCode, Flag, Reason, Snapshot};
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

    /// Registers one flag: its entry (found by key, so counts survive a snapshot
    /// swap) and a cell per variant.
    fn register(&mut self, spec: FlagSpec<'_>) -> Current {
        let FlagSpec {
            key,
            variants,
            hidden,
        } = spec;
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
    }

    /// Maps a snapshot's flags (keys and variant names, in index order, with their
    /// hidden dimensions; `None` for one registered on its first evaluation) onto the
    /// registry.
    fn install(&mut self, flags: Vec<Option<FlagSpec<'_>>>) {
        // A first snapshot's keys are all new: one allocation instead of rehashing
        // the registry a dozen times while it grows.
        let new = flags.len().saturating_sub(self.entries.len());
        self.by_key.reserve(new);
        self.entries.reserve(new);
        self.current = flags
            .into_iter()
            .map(|spec| spec.map_or_else(Current::pending, |spec| self.register(spec)))
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
        self.source = None;
        self.install(
            shared
                .iter()
                .map(|(k, vs)| {
                    Some(FlagSpec {
                        key: k,
                        variants: vs.iter().collect(),
                        hidden: Box::default(),
                    })
                })
                .collect(),
        );
    }

    /// Called when a new snapshot is loaded; learns which dimensions must never be
    /// counted for which flag: those it declares in `private_attributes`, and the
    /// snapshot's unit ids for every flag.
    ///
    /// A flag the registry already knows (by key) is mapped now, so what was
    /// counted and served under the previous snapshot stays attributed to it; a new
    /// one waits for its first evaluation (most of a large snapshot's flags are never
    /// evaluated by one edge, and a cold start should not pay for them).
    pub fn set_snapshot(&mut self, snapshot: &Arc<Snapshot>) {
        let units = privacy::unit_paths(snapshot);
        self.source = Some(snapshot.clone());
        let known = !self.by_key.is_empty();
        let specs = snapshot
            .flags()
            .iter()
            .map(|f| (known && self.by_key.contains_key(&*f.key)).then(|| self.spec_of(f, &units)))
            .collect();
        self.install(specs);
    }

    /// What the registry needs of snapshot flag `f`, in a snapshot whose unit ids
    /// are `units`.
    fn spec_of<'f>(&self, f: &'f Flag, units: &[&str]) -> FlagSpec<'f> {
        let hidden: Box<[bool]> = self
            .config
            .dimensions
            .iter()
            .map(|d| privacy::is_withheld(d, &f.private_attributes, units))
            .collect();
        FlagSpec {
            key: &f.key,
            variants: f.variants.iter().map(|v| &v.name).collect(),
            hidden: if hidden.contains(&true) {
                hidden
            } else {
                Box::default()
            },
        }
    }

    /// Registers flag index `flag` of the current snapshot if it waits for its first
    /// evaluation (see [`Counters::set_snapshot`]).
    #[inline]
    pub(super) fn ensure(&mut self, flag: u32) {
        if self
            .current
            .get(flag as usize)
            .is_some_and(Current::is_pending)
        {
            self.register_pending(flag as usize);
        }
    }

    #[cold]
    fn register_pending(&mut self, flag: usize) {
        let Some(snapshot) = self.source.clone() else {
            return;
        };
        if let Some(f) = snapshot.flags().get(flag) {
            let spec = self.spec_of(f, &privacy::unit_paths(&snapshot));
            self.current[flag] = self.register(spec);
        }
    }

    /// Rebuilds the registry with only the current snapshot's flags.
    pub(super) fn compact(&mut self) {
        type Owned = (Arc<str>, Vec<Arc<str>>, Box<[bool]>);
        let flags: Vec<Option<Owned>> = self
            .current
            .iter()
            .map(|c| {
                let e = self.entries.get(c.entry as usize)?;
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
                Some((e.key.clone(), names, c.hidden.clone()))
            })
            .collect();
        let old_entries = std::mem::take(&mut self.entries);
        self.by_key.clear();
        self.cells.clear();
        self.install(
            flags
                .iter()
                .map(|f| {
                    f.as_ref().map(|(k, vs, h)| FlagSpec {
                        key: k,
                        variants: vs.iter().collect(),
                        hidden: h.clone(),
                    })
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
