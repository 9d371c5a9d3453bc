//! The bundle loader with includes and variables, through the whole `check` pipeline: the input
//! is split at NUL bytes into `databricks.yml`, two included resource files and a notebook they
//! can name (`resources/*.yml` is included when the root file says so; the seed corpus, made from
//! `fixtures/` by .ci/fuzz.sh, does). No input may panic, hang or report past a file's end.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

const FILES: [&str; 4] = [
    "databricks.yml",
    "resources/a.job.yml",
    "resources/b.job.yml",
    "src/nb.py",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let files: Vec<(&str, &str)> = FILES.iter().copied().zip(text.split('\0')).collect();
    common::check(&files);
});
