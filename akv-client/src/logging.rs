//! Logging with `tracing`, set up from `log_level` / `log_file` (`AKV_LOG` / `AKV_LOG_FILE`).
//!
//! Nothing this crate logs carries a secret: requests are logged by method, URL, status and
//! timing, never by header or body.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::filter::LevelFilter;

use crate::config::{Config, LogLevel};

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The `tracing` level filter of a [`LogLevel`].
pub fn level_filter(level: LogLevel) -> LevelFilter {
    match level {
        LogLevel::Off => LevelFilter::OFF,
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    }
}

/// Installs the log writer once per process (later calls do nothing). Cheap when logging is
/// off: disabled levels cost one atomic load at each call site.
pub fn init(config: &Config) {
    if config.log_level == LogLevel::Off || INSTALLED.swap(true, Ordering::AcqRel) {
        return;
    }
    let builder = tracing_subscriber::fmt()
        .with_max_level(level_filter(config.log_level))
        .with_target(true);
    let file = config.log_file.as_ref().map(|path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| (path.clone(), e))
    });
    // Another subscriber may already be global (the application's own): keep it.
    match file {
        Some(Ok(file)) => {
            let _ = builder.with_writer(Arc::new(file)).try_init();
        }
        Some(Err((path, e))) => {
            let _ = builder.with_writer(std::io::stderr).try_init();
            tracing::error!(file = %path.display(), error = %e, "cannot open the log file; logging to stderr");
        }
        None => {
            let _ = builder.with_writer(std::io::stderr).try_init();
        }
    }
}
