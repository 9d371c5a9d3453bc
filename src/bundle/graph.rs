//! The task graph of a job: `depends_on` edges between top-level tasks, transitive upstream
//! sets and deterministic cycle detection (each cycle reported once, starting from its task
//! declared first, following `depends_on` in declaration order).

use std::collections::{BTreeSet, HashMap};

/// The order tasks run in, from [`TaskGraph::run_order`] (indexes into the task list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOrder {
    pub order: Vec<usize>,
    /// Level of each task, by index.
    pub level: Vec<usize>,
    /// Tasks that never run: on or behind a dependency cycle.
    pub left: Vec<usize>,
}

/// Dependency graph over a job's top-level tasks (indexes are positions in `Job::tasks`).
#[derive(Debug, Clone, Default)]
pub struct TaskGraph {
    /// Task keys by index (`None` for a task without a string `task_key`).
    pub keys: Vec<Option<String>>,
    /// `deps[i]`: the indexes task `i` depends on, in `depends_on` order (unknown keys left out).
    pub deps: Vec<Vec<usize>>,
    index: HashMap<String, usize>,
}

impl TaskGraph {
    /// The graph of tasks given as (task key, `depends_on` keys) in declaration order, for
    /// callers that have no bundle job (the planner's model; [`crate::bundle::Job::graph`]
    /// builds it from a job). Unknown keys are left out.
    pub fn from_keys<'a>(tasks: impl IntoIterator<Item = (Option<&'a str>, Vec<&'a str>)>) -> Self {
        let tasks: Vec<(Option<&str>, Vec<&str>)> = tasks.into_iter().collect();
        let keys: Vec<Option<String>> = tasks.iter().map(|(k, _)| k.map(str::to_string)).collect();
        let mut index = HashMap::new();
        for (i, k) in keys.iter().enumerate() {
            if let Some(k) = k {
                index.entry(k.clone()).or_insert(i);
            }
        }
        let deps = tasks
            .iter()
            .map(|(_, ds)| ds.iter().filter_map(|k| index.get(*k).copied()).collect())
            .collect();
        TaskGraph { keys, deps, index }
    }

    /// Run order (Kahn's algorithm; among ready tasks the one declared first runs first), the
    /// level of each task (0 without dependencies, else 1 + its deepest dependency) and the
    /// tasks left out because they are on or behind a cycle (in declaration order).
    pub fn run_order(&self) -> RunOrder {
        let n = self.keys.len();
        let mut indeg = vec![0usize; n];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, ds) in self.deps.iter().enumerate() {
            let mut seen = BTreeSet::new();
            for &j in ds {
                if seen.insert(j) {
                    indeg[i] += 1;
                    dependents[j].push(i);
                }
            }
        }
        let mut ready: BTreeSet<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
        let mut level = vec![0usize; n];
        let mut order = Vec::with_capacity(n);
        let mut placed = vec![false; n];
        while let Some(i) = ready.pop_first() {
            order.push(i);
            placed[i] = true;
            for &j in &dependents[i] {
                level[j] = level[j].max(level[i] + 1);
                indeg[j] -= 1;
                if indeg[j] == 0 {
                    ready.insert(j);
                }
            }
        }
        let left = (0..n).filter(|&i| !placed[i]).collect();
        RunOrder { order, level, left }
    }

    /// Index of a task key.
    pub fn index_of(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// Every task that `key` depends on, directly or transitively.
    pub fn upstream(&self, key: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let Some(start) = self.index_of(key) else {
            return out;
        };
        let mut stack = vec![start];
        let mut seen = vec![false; self.keys.len()];
        while let Some(i) = stack.pop() {
            for &d in &self.deps[i] {
                if !seen[d] {
                    seen[d] = true;
                    if let Some(k) = &self.keys[d] {
                        out.insert(k.clone());
                    }
                    stack.push(d);
                }
            }
        }
        out.remove(key);
        out
    }

    /// True when `upstream` is a (transitive) dependency of `task`.
    pub fn is_upstream(&self, upstream: &str, task: &str) -> bool {
        self.upstream(task).contains(upstream)
    }

    /// Cycles as lists of task indexes, each starting at its earliest task; the last task
    /// depends on the first. One cycle per strongly connected component, sorted by start.
    pub fn cycles(&self) -> Vec<Vec<usize>> {
        let sccs = self.sccs();
        let mut out = Vec::new();
        for comp in sccs {
            let start = *comp.iter().min().unwrap_or(&0);
            if comp.len() == 1 && !self.deps[start].contains(&start) {
                continue;
            }
            let in_comp: BTreeSet<usize> = comp.iter().copied().collect();
            // DFS from start within the component, deps in declaration order, until we return.
            let mut path = vec![start];
            let mut visited = vec![false; self.keys.len()];
            visited[start] = true;
            if self.find_back(start, start, &in_comp, &mut path, &mut visited) {
                out.push(path);
            }
        }
        out.sort();
        out
    }

    fn find_back(
        &self,
        cur: usize,
        start: usize,
        comp: &BTreeSet<usize>,
        path: &mut Vec<usize>,
        visited: &mut [bool],
    ) -> bool {
        for &d in &self.deps[cur] {
            if d == start {
                return true;
            }
            if comp.contains(&d) && !visited[d] {
                visited[d] = true;
                path.push(d);
                if self.find_back(d, start, comp, path, visited) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }

    /// Tarjan's strongly connected components (iterative).
    fn sccs(&self) -> Vec<Vec<usize>> {
        let n = self.keys.len();
        let mut index = vec![usize::MAX; n];
        let mut low = vec![0; n];
        let mut on_stack = vec![false; n];
        let mut stack = Vec::new();
        let mut out = Vec::new();
        let mut counter = 0;
        for root in 0..n {
            if index[root] != usize::MAX {
                continue;
            }
            // (node, next edge position)
            let mut work = vec![(root, 0usize)];
            index[root] = counter;
            low[root] = counter;
            counter += 1;
            stack.push(root);
            on_stack[root] = true;
            while let Some(&mut (v, ref mut pos)) = work.last_mut() {
                if *pos < self.deps[v].len() {
                    let w = self.deps[v][*pos];
                    *pos += 1;
                    if index[w] == usize::MAX {
                        index[w] = counter;
                        low[w] = counter;
                        counter += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        work.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                } else {
                    work.pop();
                    if let Some(&(parent, _)) = work.last() {
                        low[parent] = low[parent].min(low[v]);
                    }
                    if low[v] == index[v] {
                        let mut comp = Vec::new();
                        while let Some(w) = stack.pop() {
                            on_stack[w] = false;
                            comp.push(w);
                            if w == v {
                                break;
                            }
                        }
                        out.push(comp);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_order_is_topological_stable_and_leaves_cycles_out() {
        let g = TaskGraph::from_keys([
            (Some("c"), vec!["a", "b", "a"]),
            (Some("b"), vec![]),
            (Some("a"), vec!["zz"]),
            (Some("d"), vec!["a"]),
            (Some("x"), vec!["y"]),
            (Some("y"), vec!["x"]),
            (Some("z"), vec!["y"]),
        ]);
        let r = g.run_order();
        assert_eq!(r.order, [1, 2, 0, 3]);
        assert_eq!(r.level[..4], [1, 0, 0, 1]);
        assert_eq!(r.left, [4, 5, 6]);
        assert_eq!(g.upstream("c"), ["a", "b"].map(String::from).into());
    }
}
