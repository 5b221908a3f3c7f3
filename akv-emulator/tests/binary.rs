//! The `akv-emulator` binary: flags, the ready line (DESIGN §5), serving, SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// Starts the binary with `args` and returns it, its stdout and the ready line (read, not
/// slept for).
fn start(args: &[&str]) -> (Child, BufReader<ChildStdout>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_akv-emulator"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    (child, stdout, line)
}

#[test]
fn prints_the_ready_line_serves_its_keys_and_stops_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("akv-emulator-bin-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let (child, mut stdout, line) = start(&[
        "--listen",
        "127.0.0.1:0",
        "--imds-listen",
        "127.0.0.1:0",
        "--ca-out",
        ca.to_str().unwrap(),
        "--key",
        "vault:myvault:rsa1=rsa:2048",
        "--key",
        "managedHsm:myhsm:ec1=ec:P-384",
        "--token-ttl",
        "600",
        "--latency-ms",
        "0",
        "--threads",
        "16",
    ]);

    // Exactly {"https":"127.0.0.1:PORT","imds":"http://127.0.0.1:PORT","ca":"PATH"}.
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let obj = ready.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["ca", "https", "imds"]);
    assert!(line.starts_with("{\"https\":\"127.0.0.1:"), "{line}");
    let https = ready["https"].as_str().unwrap();
    let imds = ready["imds"].as_str().unwrap();
    assert!(imds.starts_with("http://127.0.0.1:"), "{line}");
    assert_eq!(ready["ca"].as_str().unwrap(), ca.to_str().unwrap());
    assert!(https.rsplit(':').next().unwrap().parse::<u16>().unwrap() > 0);

    // It serves: a token from its IMDS opens the key created by --key.
    let pem = std::fs::read(&ca).unwrap();
    let cert = ureq::tls::Certificate::from_pem(&pem).unwrap().to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[cert]))
                .build(),
        )
        .http_status_as_error(false)
        .build()
        .into();
    let token: serde_json::Value = agent
        .get(format!("{imds}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://managedhsm.azure.net"))
        .header("Metadata", "true")
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let key: serde_json::Value = agent
        .get(format!("https://{https}/keys/ec1"))
        .header("Host", "myhsm.managedhsm.azure.net")
        .header(
            "Authorization",
            format!("Bearer {}", token["access_token"].as_str().unwrap()),
        )
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(key["key"]["crv"], "P-384");
    assert_eq!(key["key"]["kty"], "EC-HSM");

    // SIGTERM: a clean exit, nothing more on stdout.
    // SAFETY: kill() with a pid we spawned and a valid signal number.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let status = wait_at_most(child, std::time::Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "", "exactly one line on stdout");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_flags_exit_2_with_a_message_and_no_ready_line() {
    for args in [
        &["--key", "vault:myvault:k=oct:256"][..],
        &["--listen", "localhost"][..],
        &["--frobnicate"][..],
        &["--token-ttl"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_akv-emulator"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("akv-emulator: "), "{args:?}: {err}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_akv-emulator"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--token-ttl"));
}

#[test]
fn a_busy_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_akv-emulator"))
        .args(["--listen", &taken.local_addr().unwrap().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen"));
}

/// Waits for `child` to exit, at most `limit`; kills it (and fails) if it does not.
fn wait_at_most(
    child: std::process::Child,
    limit: std::time::Duration,
) -> std::process::ExitStatus {
    let pid = child.id() as libc::pid_t;
    let (done, exited) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut child = child;
        let _ = done.send(child.wait().unwrap());
    });
    exited.recv_timeout(limit).unwrap_or_else(|_| {
        // SAFETY: kill() with the pid of our child, not yet reaped (its waiter is blocked).
        unsafe { libc::kill(pid, libc::SIGKILL) };
        panic!("akv-emulator did not exit within {limit:?}");
    })
}

#[test]
fn sigint_stops_it_with_kept_alive_and_half_sent_requests_open() {
    use std::io::{Read, Write};
    let (child, _stdout, line) =
        start(&["--key", "vault:myvault:k=ec:P-256", "--latency-ms", "500"]);
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let https = ready["https"].as_str().unwrap().to_string();
    let imds = ready["imds"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .to_string();
    let mut connector =
        openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client()).unwrap();
    connector
        .set_ca_file(ready["ca"].as_str().unwrap())
        .unwrap();
    let connector = connector.build();
    let tls = |host: &str| {
        let tcp = std::net::TcpStream::connect(&https).unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        connector.connect(host, tcp).unwrap()
    };

    // A token from IMDS over a connection that stays open afterwards.
    let mut imds_conn = std::net::TcpStream::connect(&imds).unwrap();
    imds_conn
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    imds_conn.write_all(b"GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net HTTP/1.1\r\nHost: x\r\nMetadata: true\r\n\r\n").unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    let n = imds_conn.read(&mut buf).unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]).to_string();
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    let token: serde_json::Value = serde_json::from_str(body).unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();

    // --latency-ms reaches the server: a key read takes at least that long.
    let mut kept_alive = tls("myvault.vault.azure.net");
    let started = std::time::Instant::now();
    kept_alive.write_all(format!("GET /keys/k?api-version=7.5 HTTP/1.1\r\nHost: myvault.vault.azure.net\r\nAuthorization: Bearer {token}\r\n\r\n").as_bytes()).unwrap();
    let n = kept_alive.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200 "));
    assert!(started.elapsed() >= std::time::Duration::from_millis(500));

    // And one client in the middle of its request.
    let mut half = tls("myvault.vault.azure.net");
    half.write_all(b"POST /keys/k//sign?api-version=7.5 HTTP/1.1\r\nHost: myvault.vault.azure.net\r\nContent-Length: 100\r\n")
        .unwrap();

    // SAFETY: kill() with a pid we spawned and a valid signal number.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let status = wait_at_most(child, std::time::Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    // The clients see the end of their connections.
    for (what, read) in [
        ("kept-alive", kept_alive.read(&mut buf)),
        ("half-sent", half.read(&mut buf)),
        ("IMDS", imds_conn.read(&mut buf)),
    ] {
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "{what} connection still open"
        );
    }
}
