use std::process::ExitCode;

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
    // Transparent huge pages: every first touch of a 2 MiB region faults in and zeroes the whole
    // region, most of which a short run never uses (measured: a third of `check`'s CPU time on a
    // large repository went to zeroing pages). Plain 4 KiB pages are zeroed only when used.
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_THP_DISABLE only changes this process's page policy.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    bricklint::cli::main()
}
