//! `stash validate -f FILE|DIR`: Stash's admission rules, offline.
use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// A manifest file or a folder of manifests (multi-document YAML)
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(a: ValidateArgs) -> anyhow::Result<()> {
    let mut problems = 0;
    for f in &a.files {
        for p in stash::api::validate::validate_path(f) {
            println!("{p}");
            problems += 1;
        }
    }
    if problems > 0 {
        bail!("{problems} problem(s) found");
    }
    println!("all manifests are valid");
    Ok(())
}
