use std::process::ExitCode;

use clap::Parser;

// mimalloc: parsing allocates millions of small syntax-tree nodes; glibc's malloc spent a quarter
// of the run time on them (see README, Performance).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
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
