//! The terminal's view of a batch's progress: a bar with ETA on a terminal, one line per
//! finished run otherwise (a log file, a Slurm job). The library only sends events.

use gardengate_experiment::{Progress, ProgressEvent};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

/// Progress on standard error, as `run`, `sweep` and `sensitivity` show it.
pub fn terminal() -> Progress {
    let bar: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);
    Progress::Report(Arc::new(move |e: &ProgressEvent| {
        // A poisoned lock only means another thread panicked while drawing; drawing goes on.
        let mut bar = bar.lock().unwrap_or_else(|p| p.into_inner());
        match e {
            ProgressEvent::Start {
                runs,
                skipped,
                steps,
            } => {
                if *skipped > 0 {
                    eprintln!(
                        "resuming: {skipped} of {} runs already finished",
                        runs + skipped
                    );
                }
                if std::io::stderr().is_terminal() && *steps > 0 {
                    let b = indicatif::ProgressBar::new(*steps);
                    b.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{elapsed_precise} [{wide_bar}] {percent}% steps {pos}/{len} ETA {eta}",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                    );
                    *bar = Some(b);
                }
            }
            ProgressEvent::Step => {
                if let Some(b) = bar.as_ref() {
                    b.inc(1);
                }
            }
            ProgressEvent::RunFinished {
                index,
                of,
                run_id,
                point_id,
                label,
                replicate,
                wall_s,
            } => {
                if bar.is_none() {
                    eprintln!(
                        "run {}/{of} finished: run_id {run_id} (point {point_id}: {label}, replicate {replicate}) in {wall_s:.1}s",
                        index + 1
                    );
                }
            }
            ProgressEvent::RunsDone => {
                if let Some(b) = bar.take() {
                    b.finish_and_clear();
                }
            }
        }
    }))
}
