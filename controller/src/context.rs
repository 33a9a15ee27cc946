//! What every reconcile gets: the three seams (store, runner, clock), the catalog, the
//! settings of this controller, and its metrics (the registry `/metrics` serves, and the
//! Pushgateway a finished session is pushed to).
use std::path::PathBuf;
use std::sync::Arc;

use stash::api::catalog::Catalog;
use stash::api::resolve::variables::OperatorSettings;

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::runner::StepRunner;
use crate::store::ObjectStore;

/// How this controller runs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Values that become the Functions' `STASH_*`/`PROMETHEUS_*` variables.
    pub operator: OperatorSettings,
    /// Where jobs get their scratch folders (`/stash-tmp` of a pod) in local mode.
    pub scratch_root: PathBuf,
    /// How many members of a Parallel BackupBatch (or RestoreBatch) run at once.
    pub max_parallel_members: usize,
}

/// The default of [`Settings::max_parallel_members`]: enough for an application's database,
/// cache and volume at once, few enough that dumps do not fight over two cores.
pub const DEFAULT_PARALLEL_MEMBERS: usize = 4;

pub struct Ctx {
    pub store: Arc<dyn ObjectStore>,
    pub runner: Arc<dyn StepRunner>,
    pub clock: Arc<dyn Clock>,
    pub catalog: Arc<Catalog>,
    pub settings: Settings,
    pub metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("store", &self.store)
            .field("runner", &self.runner)
            .finish_non_exhaustive()
    }
}

/// A context over the scenario tests' doubles, with the built-in catalog.
#[cfg(test)]
pub fn test_ctx(
    store: Arc<dyn ObjectStore>,
    runner: Arc<dyn StepRunner>,
    clock: Arc<dyn Clock>,
) -> Ctx {
    Ctx {
        store,
        runner,
        clock,
        catalog: Arc::new(Catalog::builtin().expect("the built-in catalog")),
        settings: Settings {
            operator: Default::default(),
            scratch_root: "/tmp/stash-jobs".into(),
            max_parallel_members: DEFAULT_PARALLEL_MEMBERS,
        },
        metrics: Arc::new(Metrics::new(None)),
    }
}
