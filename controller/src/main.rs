//! The `stash` binary: a restic-like CLI over the Stash engine (and, later, the controller).
//!
//! Exit codes (as restic's where they overlap): 0 success, 1 failure, 2 usage error,
//! 10 repository does not exist, 11 repository is locked, 12 wrong password.
mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    cli::init_tracing(args.global.verbose, args.global.json);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match rt.block_on(cli::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Fatal: {e:#}");
            std::process::ExitCode::from(cli::exit_code(&e))
        }
    }
}
