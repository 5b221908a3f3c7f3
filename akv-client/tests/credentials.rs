//! Every credential source end to end against the emulator, and the `default` chain.

mod common;

use std::net::TcpListener;
use std::path::Path;

use akv_client::{Client, Error, SignatureAlgorithm};
use akv_emulator::Emulator;
use base64::Engine;
use common::*;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Signs once with a fresh client built from `extra` and checks the signature.
fn signs_with(emu: &Emulator, extra: &[(&str, &str)]) -> Result<Client, Error> {
    let client = Client::new(config_from(&env_for(emu, extra)))?;
    let key = client.get_key(&key_id("akv:vault:testvault:ec256"))?;
    let alg = SignatureAlgorithm::Es256;
    let signature = client.sign(&key.id, alg, &sha(alg, b"credential"))?;
    assert!(openssl_verifies(
        &key.public,
        alg,
        b"credential",
        &signature
    ));
    Ok(client)
}

/// The claims of a JWT (the emulator's tokens are JWT-shaped).
fn claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap()
}

fn appid_of(client: &Client) -> String {
    let token = client.token_for(VAULT_AUDIENCE).unwrap();
    claims(token.expose())["appid"]
        .as_str()
        .unwrap()
        .to_string()
}

fn federated_assertion() -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        B64.encode(r#"{"alg":"RS256","kid":"kubelet"}"#),
        B64.encode(
            r#"{"aud":["api://AzureADTokenExchange"],"iss":"https://oidc.example","sub":"system:serviceaccount:default:app"}"#
        )
    )
}

#[test]
fn static_token_from_env_and_from_file() {
    let emu = start();
    let token = emu.issue_token(VAULT_AUDIENCE);
    signs_with(
        &emu,
        &[
            ("AKV_ACCESS_TOKEN", &token),
            ("AKV_CREDENTIAL", "access_token"),
        ],
    )
    .unwrap();
    signs_with(&emu, &[("AZURE_CLI_ACCESS_TOKEN", &token)]).unwrap();
    let dir = temp_dir("static-token");
    let file = dir.join("token");
    std::fs::write(&file, format!("{token}\n")).unwrap();
    signs_with(
        &emu,
        &[
            ("AKV_ACCESS_TOKEN_FILE", file.to_str().unwrap()),
            ("AKV_CREDENTIAL", "access_token"),
        ],
    )
    .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn invalid_static_token_ends_in_401_after_one_retry() {
    let emu = start();
    let client = client(&emu, &[("AKV_ACCESS_TOKEN", "not-a-valid-token")]);
    let err = client
        .get_key(&key_id("akv:vault:testvault:ec256"))
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    assert!(!err.to_string().contains("not-a-valid-token"), "{err}");
}

#[test]
fn client_secret_gets_an_entra_token_for_its_app() {
    let emu = start();
    let before = stat(&emu, "token");
    let client = signs_with(
        &emu,
        &[
            ("AZURE_TENANT_ID", "72f98800-e1a1-4c4e-9e6d-a1cc0dede001"),
            ("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555"),
            ("AZURE_CLIENT_SECRET", "app-secret-value"),
        ],
    )
    .unwrap();
    assert_eq!(appid_of(&client), "11111111-2222-3333-4444-555555555555");
    assert_eq!(stat(&emu, "token") - before, 1);
    // from a file, with AZURE_AUTHORITY_HOST given explicitly (trailing slash normalised)
    let dir = temp_dir("client-secret");
    let file = dir.join("secret");
    std::fs::write(&file, "app-secret-value\n").unwrap();
    signs_with(
        &emu,
        &[
            ("AKV_CREDENTIAL", "client_secret"),
            ("AZURE_TENANT_ID", "contoso.onmicrosoft.com"),
            ("AZURE_CLIENT_ID", "app"),
            ("AKV_CLIENT_SECRET_FILE", file.to_str().unwrap()),
            ("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/"),
        ],
    )
    .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn workload_identity_rereads_its_token_file_at_each_refresh() {
    let emu = start_with(akv_emulator::Options {
        token_ttl: 2 * SECOND,
        ..options()
    });
    let dir = temp_dir("workload");
    let file = dir.join("azure-identity-token");
    std::fs::write(&file, federated_assertion()).unwrap();
    let env = [
        ("AKV_CREDENTIAL", "workload_identity"),
        ("AZURE_TENANT_ID", "72f98800-e1a1-4c4e-9e6d-a1cc0dede001"),
        ("AZURE_CLIENT_ID", "wi-client"),
        ("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()),
    ];
    let client = signs_with(&emu, &env).unwrap();
    assert_eq!(appid_of(&client), "wi-client");
    // The file goes away: once the token expires, the refresh reads the file and fails.
    std::fs::remove_file(&file).unwrap();
    std::thread::sleep(2 * SECOND + SECOND / 5); // let the 2-second token expire
    let err = client.token_for(VAULT_AUDIENCE).unwrap_err();
    assert!(err.to_string().contains("federated token file"), "{err}");
    // A rotated file is picked up by the next refresh.
    std::fs::write(&file, federated_assertion()).unwrap();
    assert!(client.token_for(VAULT_AUDIENCE).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn imds_system_and_user_assigned_identities() {
    let emu = start();
    let client = signs_with(&emu, &[("AKV_CREDENTIAL", "managed_identity")]).unwrap();
    let system_appid = appid_of(&client);
    let client = signs_with(
        &emu,
        &[
            ("AKV_CREDENTIAL", "managed_identity"),
            ("AZURE_CLIENT_ID", "user-assigned-1"),
        ],
    )
    .unwrap();
    assert_eq!(appid_of(&client), "user-assigned-1");
    assert_ne!(system_appid, "user-assigned-1");
    signs_with(
        &emu,
        &[
            ("AKV_CREDENTIAL", "managed_identity"),
            ("AKV_MANAGED_IDENTITY_OBJECT_ID", "oid-1"),
        ],
    )
    .unwrap();
    signs_with(
        &emu,
        &[
            ("AKV_CREDENTIAL", "managed_identity"),
            (
                "AKV_MANAGED_IDENTITY_RESOURCE_ID",
                "/subscriptions/s/resourcegroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u",
            ),
        ],
    )
    .unwrap();
}

/// 410 ("IMDS is being updated", retried every 10 s for 70 s) is proven against the emulator
/// by a unit test of `credential` with a shorter interval.
#[test]
fn imds_404_429_and_5xx_are_retried_as_azure_documents() {
    let emu = start();
    emu.add_faults(&serde_json::json!([
        {"op": "token", "status": 404, "count": 1},
        {"op": "token", "status": 429, "count": 1},
        {"op": "token", "status": 503, "count": 1}
    ]))
    .unwrap();
    // IMDS keeps its documented retries even when the service's budget is zero.
    signs_with(
        &emu,
        &[
            ("AKV_CREDENTIAL", "managed_identity"),
            ("AKV_MAX_RETRIES", "0"),
        ],
    )
    .unwrap();
    assert_eq!(stat(&emu, "token"), 4);
}

#[test]
fn app_service_identity_endpoint_with_its_header() {
    let emu = start();
    let endpoint = format!("{}/msi/token", emu.imds_url());
    signs_with(
        &emu,
        &[
            ("IDENTITY_ENDPOINT", &endpoint),
            ("IDENTITY_HEADER", emu.identity_header()),
        ],
    )
    .unwrap();
    let err = signs_with(
        &emu,
        &[
            ("IDENTITY_ENDPOINT", &endpoint),
            ("IDENTITY_HEADER", "wrong-header-value"),
        ],
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("App Service") && text.contains("401"),
        "{text}"
    );
    assert!(!text.contains("wrong-header-value"), "{text}");
}

#[test]
fn azure_arc_challenge_file_flow() {
    let emu = start();
    let endpoint = format!("{}/metadata/identity/oauth2/token", emu.imds_url());
    let arc_dir = emu.arc_token_dir().to_str().unwrap().to_string();
    signs_with(
        &emu,
        &[
            ("IDENTITY_ENDPOINT", &endpoint),
            ("IMDS_ENDPOINT", &emu.imds_url()),
            ("AKV_ARC_TOKEN_DIR", &arc_dir),
        ],
    )
    .unwrap();
    // The challenge file is looked up only in the agent's token directory.
    let elsewhere = temp_dir("arc-elsewhere");
    let err = signs_with(
        &emu,
        &[
            ("AKV_CREDENTIAL", "managed_identity"),
            ("IDENTITY_ENDPOINT", &endpoint),
            ("IMDS_ENDPOINT", &emu.imds_url()),
            ("AKV_ARC_TOKEN_DIR", elsewhere.to_str().unwrap()),
        ],
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("Azure Arc challenge file"), "{text}");
    assert!(text.contains(elsewhere.to_str().unwrap()), "{text}");
    std::fs::remove_dir_all(&elsewhere).unwrap();
}

/// Writes an `az` stand-in that answers `account get-access-token --resource <vault>` with
/// `json` and records each call in `<dir>/calls`.
fn fake_az(dir: &Path, json: &str) {
    let script = format!(
        r#"#!/bin/sh
# Stand-in for the Azure CLI: `az account get-access-token --output json --resource R [--tenant T]`
echo "$*" >> '{calls}'
if [ "$1" != account ] || [ "$2" != get-access-token ]; then
  echo "ERROR: 'az $1 $2' is not supported by this stand-in" >&2; exit 2
fi
shift 2
resource=""; output=""
while [ $# -gt 0 ]; do
  case "$1" in
    --resource) resource="$2"; shift 2 ;;
    --output) output="$2"; shift 2 ;;
    --tenant) shift 2 ;;
    *) echo "ERROR: unrecognized arguments: $1" >&2; exit 2 ;;
  esac
done
if [ "$output" != json ] || [ "$resource" != https://vault.azure.net ]; then
  echo "ERROR: expected --output json --resource https://vault.azure.net" >&2; exit 2
fi
cat <<'JSON'
{json}
JSON
"#,
        calls = dir.join("calls").display(),
    );
    write_executable(&dir.join("az"), &script);
}

fn local_time(epoch: i64) -> String {
    let t = epoch as libc::time_t;
    // SAFETY: localtime_r fills `tm` from `t`.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        tm
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.000000",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn azure_cli_with_expires_on_and_with_only_expires_on_local_time() {
    let emu = start();
    let token = emu.issue_token(VAULT_AUDIENCE);
    let expiry = now() + 3000;
    for (name, json) in [
        (
            "new-cli",
            format!(
                r#"{{"accessToken":"{token}","expiresOn":"{}","expires_on":{expiry},"subscription":"s","tenant":"t","tokenType":"Bearer"}}"#,
                local_time(expiry)
            ),
        ),
        (
            "old-cli",
            format!(
                r#"{{"accessToken":"{token}","expiresOn":"{}","subscription":"s","tenant":"t","tokenType":"Bearer"}}"#,
                local_time(expiry)
            ),
        ),
    ] {
        let dir = temp_dir(name);
        fake_az(&dir, &json);
        let client = signs_with(
            &emu,
            &[
                ("AKV_CREDENTIAL", "azure_cli"),
                ("PATH", dir.to_str().unwrap()),
            ],
        )
        .unwrap();
        // A second operation uses the cached token: az ran once.
        client
            .get_key(&key_id("akv:vault:testvault:ec256"))
            .unwrap();
        let calls = std::fs::read_to_string(dir.join("calls")).unwrap();
        assert_eq!(calls.lines().count(), 1, "{name}: {calls}");
        assert!(
            calls.contains("--resource https://vault.azure.net"),
            "{calls}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The emulator's 401 challenge names this tenant, as a real vault names its own.
const EMULATOR_TENANT: &str = "72f98800-e1a1-4c4e-9e6d-a1cc0dede001";

#[test]
fn azure_cli_without_a_tenant_takes_the_one_the_vaults_challenge_names() {
    let emu = start();
    let token = emu.issue_token(VAULT_AUDIENCE);
    let json = format!(
        r#"{{"accessToken":"{token}","expires_on":{}}}"#,
        now() + 3000
    );
    // The first token (the CLI's default tenant) is refused with the challenge, as a vault
    // of another tenant refuses it.
    let dir = temp_dir("az-challenge");
    fake_az(&dir, &json);
    emu.add_faults(&serde_json::json!([{"op": "get_key", "status": 401, "count": 1}]))
        .unwrap();
    let client = signs_with(
        &emu,
        &[
            ("AKV_CREDENTIAL", "azure_cli"),
            ("PATH", dir.to_str().unwrap()),
        ],
    )
    .unwrap();
    let calls = std::fs::read_to_string(dir.join("calls")).unwrap();
    let calls: Vec<&str> = calls.lines().collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(!calls[0].contains("--tenant"), "{calls:?}");
    assert!(
        calls[1].ends_with(&format!("--tenant {EMULATOR_TENANT}")),
        "{calls:?}"
    );
    // The vault's tenant is remembered: later operations use its cached token.
    client
        .get_key(&key_id("akv:vault:testvault:ec256"))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("calls"))
            .unwrap()
            .lines()
            .count(),
        2
    );
    std::fs::remove_dir_all(&dir).unwrap();

    // A configured tenant wins over the challenge (azure-identity refuses another tenant
    // unless told to allow it): the 401 only gets a fresh token of the configured tenant.
    let dir = temp_dir("az-configured-tenant");
    fake_az(&dir, &json);
    emu.add_faults(&serde_json::json!([{"op": "get_key", "status": 401, "count": 1}]))
        .unwrap();
    signs_with(
        &emu,
        &[
            ("AKV_CREDENTIAL", "azure_cli"),
            ("AZURE_TENANT_ID", "contoso.onmicrosoft.com"),
            ("PATH", dir.to_str().unwrap()),
        ],
    )
    .unwrap();
    let calls = std::fs::read_to_string(dir.join("calls")).unwrap();
    assert_eq!(calls.lines().count(), 2, "{calls}");
    assert!(
        calls
            .lines()
            .all(|c| c.ends_with("--tenant contoso.onmicrosoft.com")),
        "{calls}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn azure_cli_writing_more_than_a_pipe_holds_is_read_while_it_runs() {
    let emu = start();
    let token = emu.issue_token(VAULT_AUDIENCE);
    let dir = temp_dir("az-chatty");
    // 256 KiB of warnings on stderr before the answer: four times what a pipe holds.
    write_executable(
        &dir.join("az"),
        &format!(
            "#!/bin/sh\nhead -c 262144 /dev/zero | tr '\\0' w >&2\n\
             echo '{{\"accessToken\":\"{token}\",\"expires_on\":{}}}'\n",
            now() + 3000
        ),
    );
    let started = std::time::Instant::now();
    signs_with(
        &emu,
        &[
            ("AKV_CREDENTIAL", "azure_cli"),
            ("PATH", dir.to_str().unwrap()),
        ],
    )
    .unwrap();
    assert!(started.elapsed() < 5 * SECOND, "{:?}", started.elapsed());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn azure_cli_not_logged_in_says_run_az_login() {
    let emu = start();
    let dir = temp_dir("az-login");
    write_executable(
        &dir.join("az"),
        "#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n",
    );
    let err = signs_with(
        &emu,
        &[
            ("AKV_CREDENTIAL", "azure_cli"),
            ("PATH", dir.to_str().unwrap()),
        ],
    )
    .unwrap_err();
    assert!(matches!(err, Error::Credential { .. }), "{err:?}");
    assert!(err.to_string().contains("run 'az login'"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A listener that must never see a connection (checked without accepting a request).
struct Untouched(TcpListener);

impl Untouched {
    fn new() -> Untouched {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        Untouched(l)
    }
    fn url(&self) -> String {
        format!("http://{}", self.0.local_addr().unwrap())
    }
    fn assert_untouched(&self) {
        match self.0.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("something connected: {other:?}"),
        }
    }
}

#[test]
fn default_chain_takes_the_first_configured_source_in_design_order() {
    let emu = start();
    let imds = Untouched::new();
    let az_dir = temp_dir("chain-az");
    fake_az(&az_dir, r#"{"accessToken":"unused","expires_on":1}"#);
    let path = az_dir.to_str().unwrap();
    let token = emu.issue_token(VAULT_AUDIENCE);
    let assertion_dir = temp_dir("chain-wi");
    let assertion = assertion_dir.join("token");
    std::fs::write(&assertion, federated_assertion()).unwrap();
    let imds_url = imds.url();
    let base = [
        ("AZURE_POD_IDENTITY_AUTHORITY_HOST", imds_url.as_str()),
        ("PATH", path),
    ];

    // static token before everything: no token request at all
    let before = stat(&emu, "token");
    let mut env = base.to_vec();
    env.extend([
        ("AKV_ACCESS_TOKEN", token.as_str()),
        ("AZURE_TENANT_ID", "t1"),
        ("AZURE_CLIENT_ID", "secret-app"),
        ("AZURE_CLIENT_SECRET", "s"),
    ]);
    signs_with(&emu, &env).unwrap();
    assert_eq!(stat(&emu, "token"), before);

    // client secret before workload identity, managed identity and the CLI
    let mut env = base.to_vec();
    env.extend([
        ("AZURE_TENANT_ID", "t1"),
        ("AZURE_CLIENT_ID", "secret-app"),
        ("AZURE_CLIENT_SECRET", "s"),
        ("AZURE_FEDERATED_TOKEN_FILE", "/nonexistent/token"),
    ]);
    assert_eq!(appid_of(&signs_with(&emu, &env).unwrap()), "secret-app");

    // workload identity before managed identity
    let mut env = base.to_vec();
    env.extend([
        ("AZURE_TENANT_ID", "t1"),
        ("AZURE_CLIENT_ID", "wi-app"),
        ("AZURE_FEDERATED_TOKEN_FILE", assertion.to_str().unwrap()),
    ]);
    assert_eq!(appid_of(&signs_with(&emu, &env).unwrap()), "wi-app");
    imds.assert_untouched();
    assert!(!az_dir.join("calls").exists(), "az must not have run");

    // managed identity (the emulator's IMDS) before the CLI
    signs_with(&emu, &[("PATH", path)]).unwrap();
    assert!(!az_dir.join("calls").exists(), "az must not have run");

    std::fs::remove_dir_all(&az_dir).unwrap();
    std::fs::remove_dir_all(&assertion_dir).unwrap();
}

#[test]
fn default_chain_falls_through_to_the_cli_when_imds_is_unreachable() {
    let emu = start();
    let token = emu.issue_token(VAULT_AUDIENCE);
    let dir = temp_dir("chain-cli");
    fake_az(
        &dir,
        &format!(
            r#"{{"accessToken":"{token}","expires_on":{}}}"#,
            now() + 3000
        ),
    );
    let imds = format!("http://127.0.0.1:{}", closed_port());
    signs_with(
        &emu,
        &[
            ("AZURE_POD_IDENTITY_AUTHORITY_HOST", &imds),
            ("PATH", dir.to_str().unwrap()),
        ],
    )
    .unwrap();
    assert!(dir.join("calls").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn default_chain_stops_at_a_configured_source_that_fails() {
    // As azure-identity's chain: a source that is configured but fails ends the chain, which
    // would otherwise go on as another identity (here IMDS's, then the CLI's).
    let emu = start();
    let imds = Untouched::new();
    let az_dir = temp_dir("chain-stops-az");
    fake_az(&az_dir, r#"{"accessToken":"unused","expires_on":1}"#);
    let wi_dir = temp_dir("chain-stops-wi");
    let assertion = wi_dir.join("token");
    std::fs::write(&assertion, "not a JWT").unwrap();
    let err = signs_with(
        &emu,
        &[
            ("AZURE_POD_IDENTITY_AUTHORITY_HOST", &imds.url()),
            ("PATH", az_dir.to_str().unwrap()),
            ("AZURE_TENANT_ID", "t1"),
            ("AZURE_CLIENT_ID", "wi-app"),
            ("AZURE_FEDERATED_TOKEN_FILE", assertion.to_str().unwrap()),
        ],
    )
    .unwrap_err();
    imds.assert_untouched();
    assert!(!az_dir.join("calls").exists(), "az must not have run");
    let Error::Credential { attempts, .. } = &err else {
        panic!("{err:?}");
    };
    let sources: Vec<&str> = attempts.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        sources,
        [
            "access_token",
            "client_secret",
            "workload_identity",
            "managed_identity",
            "azure_cli"
        ]
    );
    assert!(attempts[2].1.starts_with("Entra ID answered 400"), "{err}");
    for (_, why) in &attempts[3..] {
        assert_eq!(why, "not tried: workload_identity is configured and failed");
    }
    std::fs::remove_dir_all(&az_dir).unwrap();
    std::fs::remove_dir_all(&wi_dir).unwrap();
}

#[test]
fn default_chain_goes_on_when_imds_has_no_identity_assigned() {
    // IMDS answers 400 on a VM without a (matching) managed identity: not there, not failed.
    let emu = start();
    let token = emu.issue_token(VAULT_AUDIENCE);
    let dir = temp_dir("chain-imds-400");
    fake_az(
        &dir,
        &format!(
            r#"{{"accessToken":"{token}","expires_on":{}}}"#,
            now() + 3000
        ),
    );
    emu.add_faults(&serde_json::json!([{"op": "token", "status": 400, "count": 1}]))
        .unwrap();
    signs_with(&emu, &[("PATH", dir.to_str().unwrap())]).unwrap();
    assert_eq!(stat(&emu, "token"), 1, "IMDS was asked once");
    assert!(dir.join("calls").exists(), "then the CLI");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn default_chain_failure_lists_every_source_with_its_reason() {
    let emu = start();
    let imds = format!("http://127.0.0.1:{}", closed_port());
    let client = client(&emu, &[("AZURE_POD_IDENTITY_AUTHORITY_HOST", &imds)]);
    let err = client
        .get_key(&key_id("akv:vault:testvault:ec256"))
        .unwrap_err();
    let Error::Credential { audience, attempts } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(audience, VAULT_AUDIENCE);
    let sources: Vec<&str> = attempts.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        sources,
        [
            "access_token",
            "client_secret",
            "workload_identity",
            "managed_identity (IMDS)",
            "azure_cli"
        ]
    );
    let text = err.to_string();
    assert!(
        text.starts_with(
            "no credential could provide a token for https://vault.azure.net: access_token: "
        ),
        "{text}"
    );
    for needle in [
        "AKV_ACCESS_TOKEN",
        "AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
        "connection refused",
        "not found on PATH",
    ] {
        assert!(text.contains(needle), "'{needle}' missing from: {text}");
    }
    assert_eq!(stat(&emu, "get_key"), 0);
}

#[test]
fn no_secret_appears_in_any_error_display_or_debug() {
    let emu = start();
    let closed = format!("127.0.0.1:{}", closed_port());
    let dir = temp_dir("secret-errors");
    let assertion = dir.join("assertion");
    std::fs::write(&assertion, "assertion-zqleak-3 is not a JWT").unwrap();
    let secret_file = dir.join("secret");
    std::fs::write(&secret_file, "file-secret-zqleak-6").unwrap();
    let endpoint = format!("{}/msi/token", emu.imds_url());
    let failing: Vec<Vec<(&str, &str)>> = vec![
        // the service refuses a static token
        vec![
            ("AKV_CREDENTIAL", "access_token"),
            ("AKV_ACCESS_TOKEN", "static-token-zqleak-1"),
        ],
        // Entra cannot be reached
        vec![
            ("AKV_CREDENTIAL", "client_secret"),
            ("AZURE_TENANT_ID", "t1"),
            ("AZURE_CLIENT_ID", "app"),
            ("AZURE_CLIENT_SECRET", "client-secret-zqleak-2"),
            ("AKV_CONNECT_TO", &closed),
            ("AKV_MAX_RETRIES", "0"),
        ],
        vec![
            ("AKV_CREDENTIAL", "client_secret"),
            ("AZURE_TENANT_ID", "t1"),
            ("AZURE_CLIENT_ID", "app"),
            ("AKV_CLIENT_SECRET_FILE", secret_file.to_str().unwrap()),
            ("AKV_CONNECT_TO", &closed),
            ("AKV_MAX_RETRIES", "0"),
        ],
        // Entra refuses the assertion
        vec![
            ("AKV_CREDENTIAL", "workload_identity"),
            ("AZURE_TENANT_ID", "t1"),
            ("AZURE_CLIENT_ID", "app"),
            ("AZURE_FEDERATED_TOKEN_FILE", assertion.to_str().unwrap()),
        ],
        // App Service refuses the header
        vec![
            ("IDENTITY_ENDPOINT", &endpoint),
            ("IDENTITY_HEADER", "header-zqleak-4"),
        ],
        // the proxy (with a password in its URL) cannot be reached
        vec![
            ("HTTPS_PROXY", "http://user:proxy-zqleak-5@127.0.0.1:1"),
            ("AKV_MAX_RETRIES", "0"),
        ],
    ];
    let mut errors = Vec::new();
    for env in &failing {
        let err = match signs_with(&emu, env) {
            Ok(_) => panic!("{env:?} worked"),
            Err(err) => err,
        };
        let shown = format!("{err} / {err:?}");
        assert!(!shown.contains("zqleak"), "{env:?}: {shown}");
        errors.push(err.to_string());
    }
    // The proxy's failure names the proxy (without its password), not only the vault.
    assert_eq!(
        errors.last().unwrap(),
        "cannot reach testvault.vault.azure.net: connection refused (through the proxy \
         127.0.0.1:1)"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
