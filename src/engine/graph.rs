//! Graph checks shared by the compiler and the decoder: cycles, chain depths and
//! path counts of the prerequisite and segment graphs, without recursion.

/// For each node of an acyclic graph, the number of edges on the longest path from
/// it. Iterative (reverse topological order), so a long chain cannot overflow the
/// stack while it is being measured.
pub(crate) fn chain_depths(edges: &[Vec<u32>]) -> Vec<usize> {
    fold_dag(edges, 0, |acc, child| acc.max(child + 1))
}

/// Folds an acyclic graph bottom-up without recursion: each node's value starts at
/// `init` and absorbs each successor's value through `combine`.
pub(crate) fn fold_dag(
    edges: &[Vec<u32>],
    init: usize,
    combine: impl Fn(usize, usize) -> usize,
) -> Vec<usize> {
    let mut pending: Vec<usize> = edges.iter().map(Vec::len).collect();
    let mut preds: Vec<Vec<u32>> = vec![Vec::new(); edges.len()];
    for (from, targets) in edges.iter().enumerate() {
        for &to in targets {
            preds[to as usize].push(from as u32);
        }
    }
    let mut value = vec![init; edges.len()];
    let mut ready: Vec<usize> = (0..edges.len()).filter(|&n| pending[n] == 0).collect();
    while let Some(n) = ready.pop() {
        for &p in &preds[n] {
            let p = p as usize;
            value[p] = combine(value[p], value[n]);
            pending[p] -= 1;
            if pending[p] == 0 {
                ready.push(p);
            }
        }
    }
    value
}

/// Finds a cycle in a directed graph given as adjacency lists; returns its nodes with
/// the first repeated at the end.
pub(crate) fn find_cycle(edges: &[Vec<u32>]) -> Option<Vec<u32>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks = vec![Mark::New; edges.len()];
    for start in 0..edges.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // Iterative DFS: (node, next edge index); `stack` is the active path.
        let mut stack: Vec<(u32, usize)> = vec![(start as u32, 0)];
        marks[start] = Mark::Active;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&m) = edges[node as usize].get(*next) {
                *next += 1;
                match marks[m as usize] {
                    Mark::New => {
                        marks[m as usize] = Mark::Active;
                        stack.push((m, 0));
                    }
                    Mark::Active => {
                        let from = stack.iter().position(|&(n, _)| n == m).unwrap_or(0);
                        let mut cycle: Vec<u32> = stack[from..].iter().map(|&(n, _)| n).collect();
                        cycle.push(m);
                        return Some(cycle);
                    }
                    Mark::Done => {}
                }
            } else {
                marks[node as usize] = Mark::Done;
                stack.pop();
            }
        }
    }
    None
}

use super::compiled::{MAX_PREREQUISITE_DEPTH, MAX_PREREQUISITE_EVALUATIONS, MAX_SEGMENT_DEPTH};

/// What is wrong with a segment or prerequisite graph (nodes are indices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GraphProblem {
    /// The nodes of a cycle, the first repeated at the end.
    Cycle(Vec<u32>),
    /// A chain from `node` longer than the limit.
    TooDeep { node: usize, depth: usize },
    /// Evaluating `node` would take `count` prerequisite evaluations.
    TooManyEvaluations { node: usize, count: usize },
}

/// Segments referring to segments: no cycle, chains at most [`MAX_SEGMENT_DEPTH`].
pub(crate) fn check_segments(edges: &[Vec<u32>]) -> Result<(), GraphProblem> {
    check(edges, MAX_SEGMENT_DEPTH, None)
}

/// Prerequisites: no cycle, chains at most [`MAX_PREREQUISITE_DEPTH`], and at most
/// [`MAX_PREREQUISITE_EVALUATIONS`] evaluations per flag (shared prerequisites are
/// evaluated once per path to them, so a diamond-shaped graph cannot make one
/// evaluation exponentially expensive).
pub(crate) fn check_prerequisites(edges: &[Vec<u32>]) -> Result<(), GraphProblem> {
    check(
        edges,
        MAX_PREREQUISITE_DEPTH,
        Some(MAX_PREREQUISITE_EVALUATIONS),
    )
}

fn check(
    edges: &[Vec<u32>],
    max_depth: usize,
    max_paths: Option<usize>,
) -> Result<(), GraphProblem> {
    if let Some(cycle) = find_cycle(edges) {
        return Err(GraphProblem::Cycle(cycle));
    }
    // Acyclic: bound the longest chain so evaluation's recursion is bounded too.
    if let Some((node, &depth)) = chain_depths(edges)
        .iter()
        .enumerate()
        .find(|(_, &d)| d > max_depth)
    {
        return Err(GraphProblem::TooDeep { node, depth });
    }
    if let Some(limit) = max_paths {
        let evaluations = fold_dag(edges, 1, |acc, child| acc.saturating_add(child));
        if let Some((node, &count)) = evaluations.iter().enumerate().find(|(_, &e)| e > limit) {
            return Err(GraphProblem::TooManyEvaluations { node, count });
        }
    }
    Ok(())
}
