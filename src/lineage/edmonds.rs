//! Minimum spanning arborescence (Chu-Liu/Edmonds): every node but the root picks one parent so
//! that the total cost of the chosen arcs is least and every node is reachable from the root.
//!
//! Each round gives every node its cheapest incoming arc; if these form no cycle they are the
//! answer. Otherwise every cycle is contracted into one node, arcs entering a cycle are charged
//! only what they cost beyond the cycle arc they would replace, the smaller graph is solved, and
//! each cycle is opened again where the chosen arc enters it. The algorithm only adds, subtracts
//! and compares costs, so any totally ordered group works: the forest uses lexicographic costs
//! so that a virtual root's arcs outweigh any sum of real ones without a magic constant.
//! Ties are broken by arc index, so the result depends only on the input order.

use std::cmp::Ordering;
use std::ops::{Add, Sub};

/// A cost the algorithm can add, subtract and order totally.
pub trait Cost: Copy + Add<Output = Self> + Sub<Output = Self> {
    fn order(&self, other: &Self) -> Ordering;
}

impl Cost for f64 {
    fn order(&self, other: &Self) -> Ordering {
        self.total_cmp(other)
    }
}

impl Cost for i64 {
    fn order(&self, other: &Self) -> Ordering {
        self.cmp(other)
    }
}

/// A directed arc `from -> to` (from is the parent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arc<C> {
    pub from: usize,
    pub to: usize,
    pub cost: C,
}

/// The indices (into `arcs`, ascending) of a minimum arborescence of `nodes` nodes rooted at
/// `root`, one arc into every other node; `None` when some node cannot be reached from the
/// root. Self-loops and arcs into the root are ignored.
pub fn min_arborescence<C: Cost>(nodes: usize, root: usize, arcs: &[Arc<C>]) -> Option<Vec<usize>> {
    if root >= nodes || arcs.iter().any(|a| a.from >= nodes || a.to >= nodes) {
        return None;
    }
    solve(nodes, root, arcs)
}

const NONE: usize = usize::MAX;

fn solve<C: Cost>(nodes: usize, root: usize, arcs: &[Arc<C>]) -> Option<Vec<usize>> {
    let mut best = vec![NONE; nodes];
    for (i, arc) in arcs.iter().enumerate() {
        if arc.to == root || arc.from == arc.to {
            continue;
        }
        let current = best[arc.to];
        if current == NONE || arc.cost.order(&arcs[current].cost) == Ordering::Less {
            best[arc.to] = i;
        }
    }
    if (0..nodes).any(|v| v != root && best[v] == NONE) {
        return None;
    }

    let cycles = find_cycles(nodes, root, arcs, &best);
    if cycles.is_empty() {
        let mut chosen: Vec<usize> = (0..nodes).filter(|&v| v != root).map(|v| best[v]).collect();
        chosen.sort_unstable();
        return Some(chosen);
    }

    let mut merged = vec![NONE; nodes];
    for (c, cycle) in cycles.iter().enumerate() {
        for &v in cycle {
            merged[v] = c;
        }
    }
    let in_cycle: Vec<bool> = merged.iter().map(|&m| m != NONE).collect();
    let mut next = cycles.len();
    for slot in merged.iter_mut().filter(|m| **m == NONE) {
        *slot = next;
        next += 1;
    }

    let mut smaller = Vec::with_capacity(arcs.len());
    let mut origin = Vec::with_capacity(arcs.len());
    for (i, arc) in arcs.iter().enumerate() {
        let (from, to) = (merged[arc.from], merged[arc.to]);
        if from == to || arc.to == root {
            continue;
        }
        let cost = if in_cycle[arc.to] {
            arc.cost - arcs[best[arc.to]].cost
        } else {
            arc.cost
        };
        smaller.push(Arc { from, to, cost });
        origin.push(i);
    }

    let chosen = solve(next, merged[root], &smaller)?;
    let mut entry = vec![NONE; cycles.len()];
    let mut result = Vec::with_capacity(nodes.saturating_sub(1));
    for s in chosen {
        let i = origin[s];
        result.push(i);
        if in_cycle[arcs[i].to] {
            entry[merged[arcs[i].to]] = arcs[i].to;
        }
    }
    for (c, cycle) in cycles.iter().enumerate() {
        result.extend(cycle.iter().filter(|&&v| v != entry[c]).map(|&v| best[v]));
    }
    result.sort_unstable();
    Some(result)
}

/// The cycles formed by following every node's chosen parent arc.
fn find_cycles<C>(nodes: usize, root: usize, arcs: &[Arc<C>], best: &[usize]) -> Vec<Vec<usize>> {
    const FRESH: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![FRESH; nodes];
    let mut cycles = Vec::new();
    let mut path = Vec::new();
    for start in 0..nodes {
        path.clear();
        let mut v = start;
        while v != root && state[v] == FRESH {
            state[v] = ON_PATH;
            path.push(v);
            v = arcs[best[v]].from;
        }
        if v != root
            && state[v] == ON_PATH
            && let Some(at) = path.iter().position(|&x| x == v)
        {
            cycles.push(path[at..].to_vec());
        }
        for &x in &path {
            state[x] = DONE;
        }
    }
    cycles
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Least total cost over every choice of one parent per non-root node that reaches the
    /// root from everywhere; `None` if there is no arborescence.
    fn brute_force(nodes: usize, root: usize, arcs: &[Arc<i64>]) -> Option<i64> {
        let incoming: Vec<Vec<usize>> = (0..nodes)
            .map(|v| {
                (0..arcs.len())
                    .filter(|&i| arcs[i].to == v && arcs[i].from != v && v != root)
                    .collect()
            })
            .collect();
        let mut pick = vec![0usize; nodes];
        let mut best: Option<i64> = None;
        loop {
            if (0..nodes).all(|v| v == root || !incoming[v].is_empty()) {
                let parent = |v: usize| arcs[incoming[v][pick[v]]].from;
                let reaches_root = (0..nodes).all(|start| {
                    let mut v = start;
                    for _ in 0..nodes {
                        if v == root {
                            return true;
                        }
                        v = parent(v);
                    }
                    v == root
                });
                if reaches_root {
                    let cost: i64 = (0..nodes)
                        .filter(|&v| v != root)
                        .map(|v| arcs[incoming[v][pick[v]]].cost)
                        .sum();
                    best = Some(best.map_or(cost, |b| b.min(cost)));
                }
            } else {
                return None;
            }
            // Next choice, like counting in a mixed radix.
            let mut v = 0;
            loop {
                if v == nodes {
                    return best;
                }
                if v != root && pick[v] + 1 < incoming[v].len() {
                    pick[v] += 1;
                    break;
                }
                pick[v] = 0;
                v += 1;
            }
        }
    }

    fn complete_digraph(nodes: usize, costs: &[i64]) -> Vec<Arc<i64>> {
        let mut arcs = Vec::new();
        let mut k = 0;
        for from in 0..nodes {
            for to in 0..nodes {
                if from != to {
                    arcs.push(Arc {
                        from,
                        to,
                        cost: costs[k % costs.len()],
                    });
                    k += 1;
                }
            }
        }
        arcs
    }

    fn total(arcs: &[Arc<i64>], chosen: &[usize]) -> i64 {
        chosen.iter().map(|&i| arcs[i].cost).sum()
    }

    /// (is virtual, cost): a virtual root's arcs outweigh any sum of real ones.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct Lex(i64, i64);
    impl Add for Lex {
        type Output = Lex;
        fn add(self, o: Lex) -> Lex {
            Lex(self.0 + o.0, self.1 + o.1)
        }
    }
    impl Sub for Lex {
        type Output = Lex;
        fn sub(self, o: Lex) -> Lex {
            Lex(self.0 - o.0, self.1 - o.1)
        }
    }
    impl Cost for Lex {
        fn order(&self, o: &Lex) -> Ordering {
            (self.0, self.1).cmp(&(o.0, o.1))
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Fixed root: same minimum as trying every parent assignment. Costs come from a small
        /// range so that ties are common.
        #[test]
        fn fixed_root_matches_brute_force(
            nodes in 1usize..=7,
            root_pick in 0usize..7,
            costs in prop::collection::vec(-3i64..6, 42),
        ) {
            let root = root_pick % nodes;
            let arcs = complete_digraph(nodes, &costs);
            let chosen = min_arborescence(nodes, root, &arcs).expect("complete digraphs span");
            prop_assert_eq!(chosen.len(), nodes - 1);
            prop_assert_eq!(Some(total(&arcs, &chosen)), brute_force(nodes, root, &arcs));
        }

        /// Free root through a virtual root: same minimum as the best over all roots.
        #[test]
        fn free_root_matches_brute_force_over_all_roots(
            nodes in 1usize..=7,
            costs in prop::collection::vec(0i64..4, 42),
        ) {
            let arcs = complete_digraph(nodes, &costs);
            let expected = (0..nodes).filter_map(|r| brute_force(nodes, r, &arcs)).min();
            let mut with_virtual: Vec<Arc<Lex>> = arcs
                .iter()
                .map(|a| Arc { from: a.from, to: a.to, cost: Lex(0, a.cost) })
                .collect();
            with_virtual.extend((0..nodes).map(|to| Arc { from: nodes, to, cost: Lex(1, 0) }));
            let chosen = min_arborescence(nodes + 1, nodes, &with_virtual).expect("spans");
            let virtual_arcs = chosen.iter().filter(|&&i| with_virtual[i].from == nodes).count();
            prop_assert_eq!(virtual_arcs, 1);
            let cost: i64 = chosen.iter().map(|&i| with_virtual[i].cost.1).sum();
            prop_assert_eq!(Some(cost), expected);
        }

        /// Sparse random digraphs: same answer as brute force, including "no arborescence".
        #[test]
        fn sparse_digraphs_match_brute_force(
            nodes in 1usize..=6,
            raw in prop::collection::vec((0usize..6, 0usize..6, -2i64..5), 0..20),
        ) {
            let arcs: Vec<Arc<i64>> = raw
                .iter()
                .filter(|(f, t, _)| *f < nodes && *t < nodes)
                .map(|&(from, to, cost)| Arc { from, to, cost })
                .collect();
            let found = min_arborescence(nodes, 0, &arcs).map(|c| total(&arcs, &c));
            prop_assert_eq!(found, brute_force(nodes, 0, &arcs));
        }
    }

    #[test]
    fn ties_are_broken_by_arc_order_so_the_answer_is_repeatable() {
        let arcs = complete_digraph(4, &[1]);
        let first = min_arborescence(4, 0, &arcs);
        assert_eq!(first, min_arborescence(4, 0, &arcs));
        assert_eq!(first, Some(vec![0, 1, 2]));
    }

    #[test]
    fn a_cycle_is_opened_where_the_cheapest_entry_is() {
        // 1 <-> 2 is cheap; entering at 2 from the root is cheaper than entering at 1.
        let arcs = [
            Arc {
                from: 1,
                to: 2,
                cost: 1.0,
            },
            Arc {
                from: 2,
                to: 1,
                cost: 1.0,
            },
            Arc {
                from: 0,
                to: 1,
                cost: 10.0,
            },
            Arc {
                from: 0,
                to: 2,
                cost: 5.0,
            },
        ];
        assert_eq!(min_arborescence(3, 0, &arcs), Some(vec![1, 3]));
    }

    #[test]
    fn unreachable_nodes_and_bad_indices_give_none() {
        let arcs = [Arc {
            from: 0,
            to: 1,
            cost: 1.0,
        }];
        assert_eq!(min_arborescence(3, 0, &arcs), None);
        assert_eq!(min_arborescence(1, 0, &arcs), None);
        assert_eq!(min_arborescence::<f64>(1, 0, &[]), Some(vec![]));
        assert_eq!(min_arborescence::<f64>(0, 0, &[]), None);
    }
}
