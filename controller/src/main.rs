//! The `stash` binary: a restic-like CLI over the Stash engine (and, later, the controller).
//!
//! Exit codes (as restic's where they overlap): 0 success, 1 failure, 2 usage error,
//! 10 repository does not exist, 11 repository is locked, 12 wrong password.
mod cli;

use clap::Parser;

/// Large buffers (chunks, packs) come and go on several threads. glibc's default raises its mmap
/// threshold after the first large free, after which such buffers are carved from per-thread
/// arenas and stay resident; a fixed 1 MiB threshold hands them back to the kernel on free.
/// Measured on a 1 GiB stream: backup peak RSS 131 → 63 MiB, restore 176 → 79 MiB, same speed.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator parameters; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn main() -> std::process::ExitCode {
    tune_allocator();
    let args = cli::Cli::parse();
    cli::init_tracing(args.global.verbose, args.global.json);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match rt.block_on(cli::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let code = cli::exit_code(&e);
            if code != cli::BROKEN_PIPE {
                eprintln!("Fatal: {e:#}");
            }
            std::process::ExitCode::from(code)
        }
    }
}
