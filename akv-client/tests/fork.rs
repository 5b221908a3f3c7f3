//! A client used across `fork()`, as nginx workers use the provider's client.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// Runs `f` in a forked child and returns its exit code (the child `_exit`s right after,
/// running no destructor). A child still running after 30 s is killed and fails the test.
fn in_child(f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child only runs `f` (which takes no lock the parent could hold: that is
    // what these tests check) and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
        // SAFETY: ends the child without unwinding into the test harness.
        unsafe { libc::_exit(code) };
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut status = 0;
        // SAFETY: waits for our own child.
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if done == pid {
            assert!(libc::WIFEXITED(status), "child died: status {status}");
            return libc::WEXITSTATUS(status);
        }
        if Instant::now() > deadline {
            // SAFETY: the child we started, by pid.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            panic!("the child hung (a lock inherited from the parent?)");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn forked_child_opens_its_own_connection_and_leaves_the_parents_alone() {
    let emu = start();
    let client = client(&emu, &[]);
    let key = client
        .get_key(&key_id("akv:vault:testvault:ec256"))
        .unwrap();
    sign(&client).unwrap();
    assert_eq!(connections(&emu), 1);

    let code = in_child(|| match sign(&client) {
        Ok(sig) if openssl_verifies(&key.public, SIGN_ALG, SIGNED_MESSAGE, &sig) => 0,
        Ok(_) => 2,
        Err(_) => 3,
    });
    assert_eq!(code, 0);
    // The child connected once, on its own connection; the token it inherited still worked.
    assert_eq!(connections(&emu), 2);
    assert_eq!(stat(&emu, "token"), 1);

    // The parent's pooled connection was neither used nor closed by the child.
    sign(&client).unwrap();
    sign(&client).unwrap();
    assert_eq!(connections(&emu), 2);
    assert_eq!(stat(&emu, "sign"), 4);
}

#[test]
fn forked_child_does_not_wait_for_a_token_refresh_in_flight_in_the_parent() {
    let emu = start();
    // The parent's token request will take 6 s.
    emu.add_faults(&json!([{"op": "token", "delay_ms": 6000, "count": 1}]))
        .unwrap();
    let client = Arc::new(client(&emu, &[]));
    let refreshing = {
        let client = client.clone();
        std::thread::spawn(move || sign(&client))
    };
    // Wait until the emulator has the parent's token request (counted before the delay).
    let deadline = Instant::now() + Duration::from_secs(10);
    while stat(&emu, "token") == 0 {
        assert!(Instant::now() < deadline, "the token request never arrived");
        std::thread::sleep(Duration::from_millis(5));
    }

    let code = in_child(|| {
        let started = Instant::now();
        match sign(&client) {
            Ok(_) if started.elapsed() < Duration::from_millis(4000) => 0,
            Ok(_) => 2, // waited for the parent's refresh
            Err(_) => 3,
        }
    });
    assert_eq!(code, 0);
    assert_eq!(stat(&emu, "token"), 2, "the child fetched its own token");
    refreshing.join().unwrap().unwrap();
    assert_eq!(stat(&emu, "sign"), 2);
}

#[test]
fn a_client_dropped_in_a_forked_child_leaves_the_parents_request_in_flight_alone() {
    let emu = start();
    let client = Arc::new(client(&emu, &[]));
    sign(&client).unwrap();
    // The parent's next sign is held 1.5 s by the emulator, on the parent's pooled
    // connection, while the child is forked.
    emu.add_faults(&json!([{"op": "sign", "delay_ms": 1500, "count": 1}]))
        .unwrap();
    let in_flight = {
        let client = client.clone();
        std::thread::spawn(move || sign(&client))
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while stat(&emu, "sign") < 2 {
        assert!(Instant::now() < deadline, "the sign never arrived");
        std::thread::sleep(Duration::from_millis(5));
    }

    let code = in_child(|| {
        // SAFETY: in the child only this thread exists (the parent thread's clone of the Arc
        // is a copy that never runs again), so nothing else can reach the client: running
        // its destructor here is what the provider's teardown at the child's exit does.
        unsafe { std::ptr::drop_in_place(Arc::as_ptr(&client).cast_mut()) };
        0
    });
    assert_eq!(code, 0);

    // The parent's request completed on its own connection: not cut off by the child
    // (ureq's `Agent::shutdown()` shuts down connections in use, shared with the parent),
    // so not retried on a new one.
    in_flight.join().unwrap().unwrap();
    assert_eq!(stat(&emu, "sign"), 2);
    assert_eq!(connections(&emu), 1);
    sign(&client).unwrap();
    assert_eq!(connections(&emu), 1);
}
