//! Logging with `tracing`, set up from `log_level` / `log_file` (`AKV_LOG` / `AKV_LOG_FILE`).
//!
//! Nothing this crate logs carries a secret: requests are logged by method, URL, status and
//! timing, never by header or body.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::filter::LevelFilter;

use crate::config::{Config, LogLevel};

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Standard error, written with `write(2)` on descriptor 2. `std::io::stderr()` takes a
/// process-wide lock on each write: a parent thread holding it at `fork()` would block the
/// child's first log line forever. One event is one `write_all` of a formatted line.
#[derive(Clone, Copy, Debug)]
pub struct Stderr;

impl std::io::Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // SAFETY: `buf` is valid for `buf.len()` bytes; descriptor 2 is the process's
        // standard error (a write to a closed one fails with EBADF, reported as an error).
        let written = unsafe { libc::write(2, buf.as_ptr().cast(), buf.len()) };
        if written < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(written as usize)
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

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
            let _ = builder.with_writer(|| Stderr).try_init();
            tracing::error!(file = %path.display(), error = %e, "cannot open the log file; logging to stderr");
        }
        None => {
            let _ = builder.with_writer(|| Stderr).try_init();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::{Duration, Instant};

    #[test]
    fn a_log_line_in_a_forked_child_does_not_wait_for_a_lock_a_parent_thread_held() {
        let (locked_tx, locked_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        // A parent thread is writing to stderr (holds its lock) at the moment of fork().
        let holder = std::thread::spawn(move || {
            let _guard = std::io::stderr().lock();
            locked_tx.send(()).unwrap();
            let _ = release_rx.recv();
        });
        locked_rx.recv().unwrap();
        let path = std::env::temp_dir().join(format!("akv-stderr-{}.log", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        // SAFETY: the child only calls async-signal-safe functions (dup2, write, _exit) and
        // the writer under test, which must be just as plain.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: the child's descriptor 2 now writes to the file.
            unsafe { libc::dup2(fd, 2) };
            let ok = Stderr
                .write_all(b"akv-client log line from a forked child\n")
                .is_ok();
            // SAFETY: leaves the child at once, running nothing of the test harness.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut status = 0;
        let hung = loop {
            // SAFETY: waits for our own child.
            if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
                break false;
            }
            if Instant::now() > deadline {
                // SAFETY: the child we started, by pid.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, &mut status, 0);
                }
                break true;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        release_tx.send(()).unwrap();
        holder.join().unwrap();
        assert!(
            !hung,
            "the child's log line waited for the parent's stderr lock"
        );
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        let written = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(written, "akv-client log line from a forked child\n");
    }
}
