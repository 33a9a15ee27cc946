//! Global flags and how they become an open repository (restic's flags and environment).
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use stash::engine::{Compression, RepoOptions, Repository};
use stash::storage::{open_location, Location};

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Repository location: a path, local:/path, s3:host/bucket/prefix, gs:bucket:/prefix,
    /// azure:container:/prefix, b2:bucket:/prefix, swift:container:/prefix or rest:http://host/path
    /// (credentials from the environment variables restic reads)
    #[arg(
        short = 'r',
        long = "repo",
        env = "RESTIC_REPOSITORY",
        global = true,
        hide_env_values = true
    )]
    pub repo: Option<String>,
    /// File holding the repository password
    #[arg(long, env = "RESTIC_PASSWORD_FILE", global = true)]
    pub password_file: Option<PathBuf>,
    /// Compression: off, auto or max
    #[arg(
        long,
        env = "RESTIC_COMPRESSION",
        default_value = "auto",
        global = true
    )]
    pub compression: String,
    /// Pack size in MiB
    #[arg(long, env = "RESTIC_PACK_SIZE", default_value_t = 16, global = true)]
    pub pack_size: usize,
    /// Print machine-readable JSON
    #[arg(long, global = true)]
    pub json: bool,
    /// Do not print progress
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
    /// More logging (-v, -vv)
    #[arg(short = 'v', long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

impl GlobalArgs {
    pub fn location(&self) -> anyhow::Result<Location> {
        let r = self.repo.as_deref().unwrap_or("");
        Ok(Location::parse(r)?)
    }

    /// The password from --password-file, RESTIC_PASSWORD_FILE or RESTIC_PASSWORD.
    pub fn password(&self) -> anyhow::Result<String> {
        if let Some(f) = &self.password_file {
            let s = std::fs::read_to_string(f)
                .with_context(|| format!("reading password file {}", f.display()))?;
            return Ok(s.trim_end_matches(['\n', '\r']).to_string());
        }
        if let Ok(p) = std::env::var("RESTIC_PASSWORD") {
            return Ok(p);
        }
        bail!("no repository password: set RESTIC_PASSWORD or pass --password-file")
    }

    pub fn options(&self) -> anyhow::Result<RepoOptions> {
        let compression = Compression::parse(&self.compression).with_context(|| {
            format!(
                "invalid --compression {:?}: use off, auto or max",
                self.compression
            )
        })?;
        if !(4..=128).contains(&self.pack_size) {
            bail!("invalid --pack-size {}: use 4 to 128 (MiB)", self.pack_size);
        }
        Ok(RepoOptions {
            compression,
            pack_size: self.pack_size << 20,
            ..Default::default()
        })
    }

    pub async fn open(&self) -> anyhow::Result<Arc<Repository>> {
        let loc = self.location()?;
        let backend = open_location(&loc)?;
        let repo = Repository::open(backend, &self.password()?, self.options()?).await?;
        Ok(Arc::new(repo))
    }

    pub fn show_progress(&self) -> bool {
        use std::io::IsTerminal;
        !self.quiet && !self.json && std::io::stderr().is_terminal()
    }
}
