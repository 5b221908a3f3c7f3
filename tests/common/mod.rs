//! Shared harness of the provider's end-to-end tests: an in-process emulator, a
//! `-provider-path` directory holding `akv.so`, and the real `openssl` CLI run as a
//! subprocess with a clean environment (only the variables that point it at the emulator).

#![allow(dead_code)]

pub mod libcrypto;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use akv_emulator::{Emulator, KeySpec, Options};

/// Longest any single openssl command may take before the test calls it a hang.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A scratch directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "akv-test-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The provider module cargo built for this test run: `target/<profile>/deps/libakv.so`,
/// next to this test executable. (The copy cargo uplifts to `target/<profile>/` is only
/// refreshed by `cargo build`; the `rlib` crate type in Cargo.toml makes `cargo test`
/// rebuild the cdylib in `deps/` whenever the provider changed.)
pub fn module_path() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("target/<profile>/deps");
    let module = deps.join("libakv.so");
    assert!(
        module.exists(),
        "{} not found: build the provider first (cargo build -p akv)",
        module.display()
    );
    module
}

/// The result of one openssl run.
pub struct Run {
    pub output: Output,
    pub args: Vec<String>,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Asserts exit status 0 and returns self.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.output.status.code(),
            Some(0),
            "openssl {} failed:\nstdout:\n{}\nstderr:\n{}",
            self.args.join(" "),
            self.stdout(),
            self.stderr()
        );
        self
    }

    /// Asserts a clean failure (a non-zero exit code, not a signal) whose stderr contains
    /// every one of `needles` (ignoring case).
    pub fn fails_with(self, needles: &[&str]) -> Run {
        match self.output.status.code() {
            Some(0) => panic!(
                "openssl {} succeeded but should have failed:\n{}",
                self.args.join(" "),
                self.stderr()
            ),
            None => panic!(
                "openssl {} was killed by a signal (crash): {:?}\n{}",
                self.args.join(" "),
                self.output.status,
                self.stderr()
            ),
            Some(_) => {}
        }
        let stderr = self.stderr();
        for needle in needles {
            assert!(
                stderr.to_lowercase().contains(&needle.to_lowercase()),
                "stderr of openssl {} does not name the problem ('{needle}'):\n{stderr}",
                self.args.join(" ")
            );
        }
        self
    }
}

/// Runs `cmd` with a deadline; a hang is a test failure, and the child is killed.
fn run_with_deadline(cmd: Command, args: Vec<String>) -> Run {
    run_with_input(cmd, args, None)
}

/// As [`run_with_deadline`], with `input` written to the command's stdin (then closed).
fn run_with_input(mut cmd: Command, args: Vec<String>, input: Option<Vec<u8>>) -> Run {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn openssl");
    let pid = child.id();
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        std::thread::spawn(move || {
            use std::io::Write;
            // A command that fails early stops reading: its error is what the test checks.
            let _ = stdin.write_all(&input);
        });
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(COMMAND_TIMEOUT) {
        Ok(output) => Run {
            output: output.expect("wait for openssl"),
            args,
        },
        Err(_) => {
            // SAFETY: `pid` is our own child, still running (its waiter has not returned).
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            panic!("openssl {} hung for {COMMAND_TIMEOUT:?}", args.join(" "));
        }
    }
}

/// An emulator with some keys, a work directory and a provider directory.
pub struct Harness {
    pub emulator: Emulator,
    pub dir: TempDir,
    provider_dir: TempDir,
}

impl Harness {
    /// Starts an emulator holding `keys` (`vault:myvault:rsa1=rsa:2048`, ...).
    pub fn start(keys: &[&str]) -> Harness {
        let options = Options {
            keys: keys
                .iter()
                .map(|k| KeySpec::parse(k).expect("key spec"))
                .collect(),
            ..Options::default()
        };
        let emulator = Emulator::start(options).expect("start emulator");
        let provider_dir = TempDir::new("modules");
        std::os::unix::fs::symlink(module_path(), provider_dir.join("akv.so"))
            .expect("symlink akv.so");
        Harness {
            emulator,
            dir: TempDir::new("work"),
            provider_dir,
        }
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    pub fn write(&self, name: &str, data: &[u8]) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, data).expect("write test file");
        path.display().to_string()
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).expect("read test output")
    }

    fn base_command(&self) -> Command {
        let mut cmd = Command::new("openssl");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .current_dir(self.dir.path());
        cmd
    }

    /// `openssl <args>` with the akv provider directory and the emulator's environment, no
    /// providers loaded beyond what `args` names.
    pub fn openssl_raw(&self, args: &[&str]) -> Run {
        self.openssl_raw_with_input(args, None)
    }

    /// `openssl <sub> -provider akv -provider default <rest>`, reading `input` from stdin.
    pub fn openssl_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        self.openssl_raw_with_input(&with_akv_and_default(args), Some(input.to_vec()))
    }

    fn openssl_raw_with_input(&self, args: &[&str], input: Option<Vec<u8>>) -> Run {
        let mut cmd = self.base_command();
        cmd.env("AKV_CONNECT_TO", self.emulator.https_addr().to_string())
            .env("AKV_CA_FILE", self.emulator.ca_path())
            .env(
                "AZURE_POD_IDENTITY_AUTHORITY_HOST",
                self.emulator.imds_url(),
            );
        let (sub, rest) = args.split_first().expect("subcommand");
        let mut full: Vec<String> = vec![sub.to_string()];
        if !args.contains(&"-provider-path") {
            full.push("-provider-path".into());
            full.push(self.provider_dir.path().display().to_string());
        }
        full.extend(rest.iter().map(|s| s.to_string()));
        cmd.args(&full);
        run_with_input(cmd, full, input)
    }

    /// `openssl <sub> -provider akv -provider default <rest>`.
    pub fn openssl(&self, args: &[&str]) -> Run {
        self.openssl_raw(&with_akv_and_default(args))
    }

    /// `openssl <args>` with the default provider alone: the independent verifier. No akv,
    /// no emulator environment.
    pub fn openssl_default(&self, args: &[&str]) -> Run {
        let mut cmd = self.base_command();
        cmd.args(args);
        run_with_deadline(cmd, args.iter().map(|s| s.to_string()).collect())
    }

    /// An openssl.cnf that activates `default` then `akv` (by module path) with
    /// `akv_settings` lines in the provider's section; returns its path.
    pub fn config_file(&self, akv_settings: &str) -> String {
        let module = self.provider_dir.join("akv.so");
        let cnf = format!(
            "openssl_conf = openssl_init\n\n[openssl_init]\nproviders = provider_sect\n\n\
             [provider_sect]\ndefault = default_sect\nakv = akv_sect\n\n\
             [default_sect]\nactivate = 1\n\n\
             [akv_sect]\nmodule = {}\nactivate = 1\n{akv_settings}\n",
            module.display()
        );
        self.write("openssl-akv.cnf", cnf.as_bytes())
    }

    /// `openssl <args>` configured by openssl.cnf alone ([`Harness::config_file`]), with no
    /// variable but `PATH`, as for a daemon whose environment is stripped.
    pub fn openssl_with_config(&self, akv_settings: &str, args: &[&str]) -> Run {
        self.openssl_with_cnf(&self.config_file(akv_settings), args)
    }

    /// `openssl <args>` with `OPENSSL_CONF=cnf_path` and no variable but `PATH`.
    pub fn openssl_with_cnf(&self, cnf_path: &str, args: &[&str]) -> Run {
        let mut cmd = self.base_command();
        cmd.env("OPENSSL_CONF", cnf_path).args(args);
        run_with_deadline(cmd, args.iter().map(|s| s.to_string()).collect())
    }

    /// The openssl.cnf lines that point the provider at this emulator (service and IMDS).
    pub fn emulator_settings(&self) -> String {
        format!(
            "connect_to = {}\nca_file = {}\nimds_endpoint = {}\n",
            self.emulator.https_addr(),
            self.emulator.ca_path().display(),
            self.emulator.imds_url()
        )
    }

    /// Starts `openssl s_server` with akv and default loaded, listening on an OS-picked
    /// port; returns once it printed its `ACCEPT` line. Stopped (by pid) on drop.
    pub fn s_server(&self, args: &[&str]) -> Server {
        let mut cmd = self.base_command();
        cmd.env("AKV_CONNECT_TO", self.emulator.https_addr().to_string())
            .env("AKV_CA_FILE", self.emulator.ca_path())
            .env(
                "AZURE_POD_IDENTITY_AUTHORITY_HOST",
                self.emulator.imds_url(),
            )
            .arg("s_server")
            .arg("-provider-path")
            .arg(self.provider_dir.path())
            .args(["-provider", "akv", "-provider", "default"])
            .args(["-accept", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn s_server");
        let stdout = child.stdout.take().expect("s_server stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("ACCEPT ") {
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        match rx.recv_timeout(COMMAND_TIMEOUT) {
            Ok(addr) => Server { child, addr },
            Err(_) => {
                let _ = child.kill();
                let output = child.wait_with_output().expect("wait s_server");
                panic!(
                    "s_server did not start: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        }
    }

    /// Requests the emulator has counted for `op` (`get_key`, `sign`, `decrypt`, ...).
    pub fn count(&self, op: &str) -> u64 {
        self.emulator.stats()["requests"][op].as_u64().unwrap_or(0)
    }

    /// Every non-token request count, for "nothing else happened" checks.
    pub fn key_requests(&self) -> Vec<(String, u64)> {
        let stats = self.emulator.stats();
        let mut out: Vec<(String, u64)> = stats["requests"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| k.as_str() != "token")
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                    .filter(|(_, v)| *v > 0)
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// `pkeyutl -sign` through akv of the digest in the file `digest`, into `sig`, plus
    /// `opts`.
    pub fn sign_digest(&self, uri: &str, digest: &str, sig: &str, opts: &[&str]) -> Run {
        let mut args = vec![
            "pkeyutl", "-sign", "-inkey", uri, "-in", digest, "-out", sig,
        ];
        args.extend_from_slice(opts);
        self.openssl(&args)
    }

    /// `pkeyutl -verify` of `sig` over the digest in the file `digest` with the public key
    /// file `public`, under the default provider alone (the independent verifier), plus
    /// `opts`.
    pub fn verify_digest(&self, public: &str, digest: &str, sig: &str, opts: &[&str]) -> Run {
        let mut args = vec![
            "pkeyutl", "-verify", "-pubin", "-inkey", public, "-in", digest, "-sigfile", sig,
        ];
        args.extend_from_slice(opts);
        self.openssl_default(&args)
    }

    /// Exports the public key of `uri` to `name` (through akv) and returns the path.
    pub fn export_public(&self, uri: &str, name: &str) -> String {
        let out = self.path(name);
        self.openssl(&["pkey", "-in", uri, "-pubout", "-out", &out])
            .ok();
        out
    }
}

/// `<sub> -provider akv -provider default <rest>`
fn with_akv_and_default<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let (sub, rest) = args.split_first().expect("subcommand");
    let mut full = vec![*sub, "-provider", "akv", "-provider", "default"];
    full.extend_from_slice(rest);
    full
}

/// `n` random bytes (a stand-in digest), from the system's CSPRNG.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    let file = std::fs::File::open("/dev/urandom").expect("/dev/urandom");
    use std::io::Read;
    (&file).read_exact(&mut buf).expect("read random");
    buf
}

/// A running `openssl s_server`.
pub struct Server {
    child: std::process::Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Our own child, by pid.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
