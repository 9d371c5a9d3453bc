use std::process::ExitCode;

use clap::Parser;

// mimalloc: parsing allocates millions of small syntax-tree nodes; glibc's malloc spent a quarter
// of the run time on them (see README, Performance).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc 3's option `purge_delay` (index in `mi_option_e` of the bundled v3 headers). By
// default freed pages go back to the OS after 10 ms and the next allocation faults them in again,
// zeroed: a third of `check`'s CPU time on a large repository. A short-lived process keeps them.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

fn main() -> ExitCode {
    // SAFETY: sets a process-wide allocator option; valid at any time (mimalloc docs).
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    let cli = match bricklint::cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    bricklint::cli::run(cli)
}
