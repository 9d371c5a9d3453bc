//! Waves and the wall-time model.
//!
//! The model, stated (also printed with every timed plan and in the README):
//! - **For Each**: at most `concurrency` iterations run at once; when one ends the next starts
//!   (iterations are taken in input order). Each iteration takes its given duration whatever the
//!   concurrency: every iteration has its own task run and compute (serverless, or a job cluster
//!   sized for the load). Wall time = the makespan of that greedy schedule; with equal durations
//!   it is `ceil(N / C) x duration`. Start-up of compute and queueing are not modelled.
//! - **Driver `ThreadPool(P)`**: the same greedy schedule with `min(P, 145)` slots (145 is the
//!   cluster's execution-context cap) and the same per-iteration durations. This is a *lower
//!   bound*: all children share one cluster, so once the driver or the executors saturate each
//!   child runs slower than it does alone, and nothing is retried.
//! - **Sequential**: the sum of the durations.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use serde::Serialize;

/// Execution contexts per cluster (DATABRICKS_FACTS.md section 3).
pub const MAX_EXECUTION_CONTEXTS: usize = 145;
/// For Each concurrency range.
pub const MAX_CONCURRENCY: i64 = crate::limits::FOR_EACH_MAX_CONCURRENCY as i64;

/// The waves of a For Each.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Waves {
    pub iterations: usize,
    /// Concurrency used for the model (declared value clamped to 1..=100; 1 when missing).
    pub concurrency: usize,
    pub waves: usize,
    /// Iterations per wave (the last one may be smaller).
    pub wave_sizes: Vec<usize>,
}

/// Clamp a declared concurrency into what the platform runs: missing means 1 (sequential).
pub fn effective_concurrency(declared: Option<i64>) -> usize {
    match declared {
        None => 1,
        Some(c) => c.clamp(1, MAX_CONCURRENCY) as usize,
    }
}

pub fn waves(iterations: usize, concurrency: usize) -> Waves {
    let c = concurrency.max(1);
    let n_waves = iterations.div_ceil(c);
    let mut wave_sizes = vec![c; n_waves];
    if let Some(last) = wave_sizes.last_mut() {
        let rem = iterations - c * (n_waves - 1);
        *last = rem;
    }
    Waves {
        iterations,
        concurrency: c,
        waves: n_waves,
        wave_sizes,
    }
}

/// Makespan of running `durations` in order on `slots` parallel slots, each next item starting
/// on the first slot that frees up.
pub fn makespan(durations: &[f64], slots: usize) -> f64 {
    let slots = slots.max(1);
    // Times are kept in milliseconds as integers so the heap has a total order.
    let mut heap: BinaryHeap<Reverse<u64>> = BinaryHeap::new();
    let mut end = 0u64;
    for &d in durations {
        let d = (d.max(0.0) * 1000.0).round() as u64;
        let start = if heap.len() < slots {
            0
        } else {
            heap.pop().map(|Reverse(t)| t).unwrap_or(0)
        };
        let finish = start + d;
        end = end.max(finish);
        heap.push(Reverse(finish));
    }
    end as f64 / 1000.0
}

/// Wall-time estimate of one For Each against a driver pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    /// How the durations were given: `uniform` or `per-iteration`.
    pub durations: &'static str,
    /// Total work (sum of durations), seconds.
    pub total_work_seconds: f64,
    pub for_each_seconds: f64,
    /// The pool size compared with.
    pub pool_size: usize,
    /// Slots the pool gets on one cluster (`min(pool_size, 145)`).
    pub pool_slots: usize,
    pub driver_pool_seconds: f64,
    pub sequential_seconds: f64,
    /// Iterations whose duration was not in the durations file (the mean of the others is used).
    pub filled_durations: usize,
}

/// Estimate wall times for `durations` (one per iteration).
pub fn timing(
    durations: &[f64],
    concurrency: usize,
    pool_size: usize,
    uniform: bool,
    filled: usize,
) -> Timing {
    let pool_slots = pool_size.clamp(1, MAX_EXECUTION_CONTEXTS);
    let total: f64 = durations.iter().sum();
    Timing {
        durations: if uniform { "uniform" } else { "per-iteration" },
        total_work_seconds: round3(total),
        for_each_seconds: makespan(durations, concurrency),
        pool_size,
        pool_slots,
        driver_pool_seconds: makespan(durations, pool_slots),
        sequential_seconds: round3(total),
        filled_durations: filled,
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Text of the model, printed with timed plans.
pub const MODEL_NOTE: &str =
    "model: For Each runs at most `concurrency` iterations at once, the next \
starting when one ends, each on its own task run and compute, with the given durations \
(compute start-up and queueing not counted); the driver ThreadPool(P) runs the same \
durations on min(P, 145) slots of one shared cluster, a lower bound: the shared driver and \
executors slow every child once saturated, and nothing is retried";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_are_ceil_n_over_c() {
        let w = waves(25, 10);
        assert_eq!(w.waves, 3);
        assert_eq!(w.wave_sizes, vec![10, 10, 5]);
        assert_eq!(waves(0, 10).waves, 0);
        assert_eq!(waves(10, 10).wave_sizes, vec![10]);
        assert_eq!(waves(3, 0).waves, 3);
    }

    #[test]
    fn effective_concurrency_clamps() {
        assert_eq!(effective_concurrency(None), 1);
        assert_eq!(effective_concurrency(Some(0)), 1);
        assert_eq!(effective_concurrency(Some(500)), 100);
        assert_eq!(effective_concurrency(Some(32)), 32);
    }

    #[test]
    fn makespan_uniform_and_greedy() {
        assert_eq!(makespan(&[60.0; 25], 10), 180.0);
        assert_eq!(makespan(&[60.0; 25], 32), 60.0);
        // Greedy in order: slots [10, 1] -> third item (1) starts at 1 on slot 2, ends at 2;
        // fourth (5) starts at 2, ends at 7; makespan 10.
        assert_eq!(makespan(&[10.0, 1.0, 1.0, 5.0], 2), 10.0);
        assert_eq!(makespan(&[], 4), 0.0);
    }

    #[test]
    fn driver_pool_is_capped_at_execution_contexts() {
        let t = timing(&[10.0; 300], 100, 300, true, 0);
        assert_eq!(t.pool_slots, 145);
        assert_eq!(t.driver_pool_seconds, 30.0);
        assert_eq!(t.for_each_seconds, 30.0);
        assert_eq!(t.sequential_seconds, 3000.0);
    }
}
