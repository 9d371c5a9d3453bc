use std::process::ExitCode;

use clap::Parser;

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
