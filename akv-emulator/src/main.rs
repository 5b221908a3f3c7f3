//! `akv-emulator`: the command line of DESIGN §5. Prints one JSON ready line on stdout and
//! serves until SIGTERM or SIGINT.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use akv_emulator::{Emulator, KeySpec, Options};

const USAGE: &str = "\
usage: akv-emulator [--listen 127.0.0.1:0] [--imds-listen 127.0.0.1:0] [--ca-out PATH]
                    [--key TYPE:NAME:KEY=SPEC]... [--token-ttl SECS] [--latency-ms N] [--threads N]

  --listen ADDR       HTTPS (vault, Managed HSM, Entra, admin API) listener (default 127.0.0.1:0)
  --imds-listen ADDR  plain-HTTP IMDS / App Service / Azure Arc token listener (default 127.0.0.1:0)
  --ca-out PATH       where to write the generated CA certificate (default: a private temp dir)
  --key SPEC          create a key at start: TYPE is vault or managedHsm, SPEC is rsa:2048|3072|4096,
                      ec:P-256|P-384|P-521|P-256K or oct:128|192|256 (managedHsm only);
                      e.g. --key vault:myvault:rsa1=rsa:2048 (repeatable)
  --token-ttl SECS    lifetime of issued tokens (default 3600)
  --latency-ms N      delay added to every key operation (default 0)
  --threads N         connections served at once per listener (default 128)

When ready it prints {\"https\":\"127.0.0.1:PORT\",\"imds\":\"http://127.0.0.1:PORT\",\"ca\":\"PATH\"}
on stdout and serves until SIGTERM or SIGINT.";

fn parse_args(args: &[String]) -> Result<Option<Options>, String> {
    let mut options = Options::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let known = [
            "--listen",
            "--imds-listen",
            "--ca-out",
            "--key",
            "--token-ttl",
            "--latency-ms",
            "--threads",
        ];
        if !known.contains(&flag) {
            return Err(format!("unknown argument '{arg}'"));
        }
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                args.get(i)
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value"))?
            }
        };
        let number = |v: &str| -> Result<u64, String> {
            v.parse::<u64>()
                .map_err(|_| format!("{flag} takes a non-negative integer, not '{v}'"))
        };
        match flag {
            "--listen" => {
                options.listen = value
                    .parse()
                    .map_err(|_| format!("--listen takes IP:PORT, not '{value}'"))?
            }
            "--imds-listen" => {
                options.imds_listen = value
                    .parse()
                    .map_err(|_| format!("--imds-listen takes IP:PORT, not '{value}'"))?
            }
            "--ca-out" => options.ca_out = Some(value.into()),
            "--key" => options.keys.push(KeySpec::parse(&value)?),
            "--token-ttl" => options.token_ttl = Duration::from_secs(number(&value)?),
            "--latency-ms" => options.latency = Duration::from_millis(number(&value)?),
            "--threads" => {
                let n = number(&value)?;
                if n == 0 || n > 65_536 {
                    return Err(format!("--threads takes 1 to 65536, not '{value}'"));
                }
                options.threads = n as usize;
            }
            _ => unreachable!("flag checked against the known list"),
        }
        i += 1;
    }
    Ok(Some(options))
}

/// Blocks SIGTERM and SIGINT in this thread (and so in every thread started after it), so
/// `wait_for_signal` can take them synchronously.
fn block_signals() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset/sigaddset initialise it, and
    // pthread_sigmask only reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

fn wait_for_signal(set: &libc::sigset_t) {
    let mut signal: libc::c_int = 0;
    // SAFETY: `set` was initialised by block_signals; sigwait writes one c_int.
    unsafe {
        libc::sigwait(set, &mut signal);
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse_args(&args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("akv-emulator: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let signals = block_signals();
    let emulator = match Emulator::start(options) {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("akv-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{}", emulator.ready_line())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        eprintln!("akv-emulator: cannot write the ready line to stdout");
        return ExitCode::FAILURE;
    }
    drop(stdout);
    wait_for_signal(&signals);
    drop(emulator);
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_every_flag() {
        let o = parse_args(&args(&[
            "--listen",
            "127.0.0.1:8443",
            "--imds-listen=127.0.0.1:8080",
            "--ca-out",
            "/tmp/x.pem",
            "--key",
            "vault:myvault:rsa1=rsa:2048",
            "--key",
            "managedHsm:myhsm:aes=oct:256",
            "--token-ttl",
            "5",
            "--latency-ms",
            "7",
            "--threads",
            "64",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(o.listen.port(), 8443);
        assert_eq!(o.imds_listen.port(), 8080);
        assert_eq!(o.keys.len(), 2);
        assert_eq!(o.token_ttl, Duration::from_secs(5));
        assert_eq!(o.latency, Duration::from_millis(7));
        assert_eq!(o.threads, 64);
    }

    #[test]
    fn explains_bad_arguments() {
        assert!(
            parse_args(&args(&["--bogus"]))
                .unwrap_err()
                .contains("unknown")
        );
        assert!(
            parse_args(&args(&["--listen"]))
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(
            parse_args(&args(&["--token-ttl", "-1"]))
                .unwrap_err()
                .contains("integer")
        );
        assert!(
            parse_args(&args(&["--listen", "nope"]))
                .unwrap_err()
                .contains("IP:PORT")
        );
        assert!(
            parse_args(&args(&["--threads", "0"]))
                .unwrap_err()
                .contains("1 to")
        );
        assert!(parse_args(&args(&["--key", "vault:x:k=rsa:2048"])).is_err());
    }
}
