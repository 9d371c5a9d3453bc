//! The Databricks platform limits bricklint checks against, in one place (sources in
//! `DATABRICKS_FACTS.md` of the design notes). Every rule, the payload checker, `plan` and
//! `migrate` take the numbers from here.

/// The JSON of one task value (`dbutils.jobs.taskValues.set`) may not exceed 48 KiB.
pub const TASK_VALUE_MAX_BYTES: u64 = 48 * 1024;

/// For Each inputs given inline (a JSON array string) are limited to 10,000 characters.
pub const FOR_EACH_INLINE_MAX_CHARS: u64 = 10_000;

/// For Each concurrency runs from 1 to 100.
pub const FOR_EACH_MAX_CONCURRENCY: u32 = 100;

/// A job holds at most 1,000 tasks (Jobs API write endpoints).
pub const MAX_TASKS_PER_JOB: usize = 1000;

/// `task_key`, `job_cluster_key` and `environment_key` are 1 to 100 characters long.
pub const MAX_KEY_CHARS: usize = 100;

/// `runs/get-output` returns only the first 5 MB of a `dbutils.notebook.exit` value.
pub const NOTEBOOK_EXIT_MAX_BYTES: u64 = 5_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_the_documented_numbers() {
        assert_eq!(TASK_VALUE_MAX_BYTES, 49_152);
        assert_eq!(FOR_EACH_INLINE_MAX_CHARS, 10_000);
        assert_eq!(FOR_EACH_MAX_CONCURRENCY, 100);
        assert_eq!(MAX_TASKS_PER_JOB, 1000);
        assert_eq!(MAX_KEY_CHARS, 100);
        assert_eq!(NOTEBOOK_EXIT_MAX_BYTES, 5_000_000);
    }
}
