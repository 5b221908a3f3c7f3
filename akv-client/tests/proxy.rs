//! `HTTPS_PROXY` / `NO_PROXY`: the service and Entra go through the proxy, identity endpoints
//! never do.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use akv_client::SignatureAlgorithm;
use common::*;

/// An HTTP CONNECT proxy on 127.0.0.1 that tunnels every CONNECT to `upstream` (the
/// emulator, standing in for the real host) and records each request line it gets.
struct ConnectProxy {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl ConnectProxy {
    fn start(upstream: SocketAddr) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (requests, stop) = (requests.clone(), stop.clone());
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let requests = requests.clone();
                    std::thread::spawn(move || tunnel(client, upstream, &requests));
                }
            })
        };
        ConnectProxy {
            addr,
            requests,
            stop,
            acceptor: Some(acceptor),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the acceptor
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.join().unwrap();
        }
    }
}

fn tunnel(client: TcpStream, upstream: SocketAddr, requests: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    requests.lock().unwrap().push(line.trim_end().to_string());
    // skip the rest of the head
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
    }
    let mut client = client;
    if !line.starts_with("CONNECT ") {
        let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n");
        return;
    }
    let Ok(server) = TcpStream::connect(upstream) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .unwrap();
    let (mut server_read, mut client_write) = (server.try_clone().unwrap(), client);
    let mut server_write = server;
    let upstream_copy = std::thread::spawn(move || {
        let _ = std::io::copy(&mut reader, &mut server_write);
        let _ = server_write.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut server_read, &mut client_write);
    let _ = client_write.shutdown(std::net::Shutdown::Both);
    let _ = upstream_copy.join();
}

const ALG: SignatureAlgorithm = SignatureAlgorithm::Es256;

#[test]
fn service_and_entra_go_through_the_proxy_and_imds_never_does() {
    let emu = start();
    let proxy = ConnectProxy::start(emu.https_addr());
    let url = proxy.url();

    // IMDS token (direct) + service call (proxied)
    let client = client(&emu, &[("HTTPS_PROXY", &url)]);
    client
        .sign(&key_id("akv:vault:testvault:ec256"), ALG, &sha(ALG, b"p"))
        .unwrap();
    assert_eq!(stat(&emu, "token"), 1);
    assert_eq!(
        proxy.requests(),
        ["CONNECT testvault.vault.azure.net:443 HTTP/1.1"]
    );

    // Entra token (proxied) + service call (proxied)
    let client = client_with_secret(&emu, &url, None);
    client
        .sign(&key_id("akv:vault:testvault:ec256"), ALG, &sha(ALG, b"p"))
        .unwrap();
    let requests = proxy.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(
        requests[1],
        "CONNECT login.microsoftonline.com:443 HTTP/1.1"
    );
    assert_eq!(
        requests[2],
        "CONNECT testvault.vault.azure.net:443 HTTP/1.1"
    );
}

fn client_with_secret(
    emu: &akv_emulator::Emulator,
    proxy: &str,
    no_proxy: Option<&str>,
) -> akv_client::Client {
    let mut env = vec![
        ("HTTPS_PROXY", proxy),
        ("AZURE_TENANT_ID", "t1"),
        ("AZURE_CLIENT_ID", "app"),
        ("AZURE_CLIENT_SECRET", "s"),
    ];
    if let Some(n) = no_proxy {
        env.push(("NO_PROXY", n));
    }
    client(emu, &env)
}

#[test]
fn no_proxy_sends_matching_hosts_direct() {
    let emu = start();
    let proxy = ConnectProxy::start(emu.https_addr());
    let client = client_with_secret(&emu, &proxy.url(), Some("localhost,.vault.azure.net"));
    client
        .sign(&key_id("akv:vault:testvault:ec256"), ALG, &sha(ALG, b"p"))
        .unwrap();
    // Entra still through the proxy, the vault direct (through connect_to).
    assert_eq!(
        proxy.requests(),
        ["CONNECT login.microsoftonline.com:443 HTTP/1.1"]
    );
}
