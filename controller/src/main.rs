//! The `stash` binary: parse, run, map errors to exit codes. Everything else lives in the
//! library (`stash_controller`).
//!
//! Exit codes (as restic's where they overlap): 0 success, 1 failure, 2 usage error,
//! 3 snapshot saved without some entries that could not be read, 10 repository does not
//! exist, 11 repository is locked, 12 wrong password, 141 the reader of our output went away.
fn main() -> std::process::ExitCode {
    stash_controller::cli::main()
}
