//! A progress bar on a terminal, periodic log lines elsewhere.
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use stash::engine::archiver::Progress;

pub struct Ticker {
    bar: Option<ProgressBar>,
    task: tokio::task::JoinHandle<()>,
}

impl Ticker {
    pub fn start(progress: Arc<Progress>, enabled: bool, verb: &'static str) -> Ticker {
        let bar = enabled.then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .expect("valid template"),
            );
            b
        });
        let b2 = bar.clone();
        let task = tokio::spawn(async move {
            let start = std::time::Instant::now();
            let mut last_log = std::time::Instant::now();
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let read = Progress::get(&progress.bytes_read);
                let secs = start.elapsed().as_secs_f64().max(0.001);
                let msg = format!(
                    "{verb} {} ({}/s), {} files, {} new",
                    indicatif::HumanBytes(read),
                    indicatif::HumanBytes((read as f64 / secs) as u64),
                    Progress::get(&progress.files),
                    indicatif::HumanBytes(Progress::get(&progress.bytes_new)),
                );
                match &b2 {
                    Some(b) => {
                        b.set_message(msg);
                        b.tick();
                    }
                    None if last_log.elapsed() > Duration::from_secs(60) => {
                        tracing::info!("{msg}");
                        last_log = std::time::Instant::now();
                    }
                    None => {}
                }
            }
        });
        Ticker { bar, task }
    }

    pub fn stop(self) {
        self.task.abort();
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}
