//! fork(): nginx loads keys in its master process and signs in forked workers. A process
//! loads the provider through libcrypto, loads a key and starts a digest-sign, then forks:
//! the child and the parent each finish the signature (and the child makes one more), every
//! signature is checked by the default provider alone, and the emulator's accounting shows
//! the child went over a connection of its own while the parent kept using its own.
//!
//! The forking process is this test binary run again in a helper role (fork in a process
//! whose other threads run the emulator could inherit a lock held by one of them).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::libcrypto::{LibCtx, verifies_with_default_provider};
use common::{Harness, TempDir, module_path};

const HELPER_DIR: &str = "AKV_TEST_FORK_HELPER_DIR";
const KEY_URI: &str = "akv:vault:myvault:rsa1";
const PART1: &[u8] = b"streamed before fork(), ";
const PART2: &[u8] = b"finished after it";
const CHILD_ONESHOT: &[u8] = b"signed by the child alone";

fn threads_of_this_process() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

fn message() -> Vec<u8> {
    [PART1, PART2].concat()
}

/// The helper role: everything happens in this process, results go to `dir`.
fn fork_and_sign(dir: &Path) {
    let threads_before = threads_of_this_process();
    let ctx = LibCtx::new();
    ctx.load_provider(&module_path().display().to_string());
    ctx.load_provider("default");
    let key = ctx.load_key(KEY_URI).unwrap();
    std::fs::write(dir.join("pub.der"), key.public_der()).unwrap();
    let mut streamed = key.digest_sign_init(&ctx, "SHA256").unwrap();
    streamed.update(PART1).unwrap();
    assert_eq!(
        threads_of_this_process(),
        threads_before,
        "loading the provider and a key started a thread"
    );

    // SAFETY: fork() in a process whose only other thread (the test harness's main thread)
    // waits on a channel and holds no lock the child uses.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            streamed.update(PART2).unwrap();
            std::fs::write(dir.join("child.sig"), streamed.finish().unwrap()).unwrap();
            let oneshot = key.digest_sign(&ctx, "SHA256", CHILD_ONESHOT).unwrap();
            std::fs::write(dir.join("child-oneshot.sig"), oneshot).unwrap();
        }));
        // SAFETY: leave the forked copy of the test harness without running it further.
        unsafe { libc::_exit(if outcome.is_ok() { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the forked child failed to sign (status {status})"
    );
    streamed.update(PART2).unwrap();
    std::fs::write(dir.join("parent.sig"), streamed.finish().unwrap()).unwrap();
    assert_eq!(
        threads_of_this_process(),
        threads_before,
        "signing started a thread"
    );
}

#[test]
fn forked_child_and_parent_both_sign_the_child_on_a_connection_of_its_own() {
    if let Some(dir) = std::env::var_os(HELPER_DIR) {
        return fork_and_sign(&PathBuf::from(dir));
    }
    let h = Harness::start(&["vault:myvault:rsa1=rsa:2048"]);
    let dir = TempDir::new("fork");
    let exe = std::env::current_exe().unwrap();
    let output = Command::new(exe)
        .args([
            "forked_child_and_parent_both_sign_the_child_on_a_connection_of_its_own",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .env(HELPER_DIR, dir.path())
        .env("AKV_CONNECT_TO", h.emulator.https_addr().to_string())
        .env("AKV_CA_FILE", h.emulator.ca_path())
        .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", h.emulator.imds_url())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "helper process failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let public = std::fs::read(dir.join("pub.der")).unwrap();
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    for (who, msg) in [
        ("child.sig", message()),
        ("parent.sig", message()),
        ("child-oneshot.sig", CHILD_ONESHOT.to_vec()),
    ] {
        assert!(
            verifies_with_default_provider(&public, "SHA256", &msg, &read(who)),
            "{who} does not verify"
        );
    }
    // RSA PKCS#1 v1.5 is deterministic: both finished the same inherited hash state.
    assert_eq!(read("child.sig"), read("parent.sig"));
    // One token and one GET, in the parent; the child inherited both. Two connections: the
    // parent's (GET, then its own signature after the child exited) and the child's own (its
    // two signatures). A child using the inherited socket would leave it at one.
    let stats = h.emulator.stats();
    assert_eq!(h.count("token"), 1, "{stats}");
    assert_eq!(h.count("get_key"), 1, "{stats}");
    assert_eq!(h.count("sign"), 3, "{stats}");
    assert_eq!(stats["connections"], 2, "{stats}");
}
