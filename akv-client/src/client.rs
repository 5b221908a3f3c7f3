//! The client: one per configuration, shared by threads, safe across `fork()`.

use base64::Engine;
use serde_json::{Value, json};

use crate::config::{Config, Secret};
use crate::credential::Credential;
use crate::error::Error;
use crate::http::{Http, Request, Route, host_of};
use crate::keyid::{KeyId, printable};
use crate::keys::{
    Curve, EncryptionAlgorithm, Key, KeyAttributes, KeyOperation, KeyType, PublicKey,
    SignatureAlgorithm,
};
use crate::token::TokenCache;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `Send + Sync`; cheap to create (no network, no threads). Each operation is exactly one REST
/// call (plus a token request when the cached one is missing or due, and retries as configured).
pub struct Client {
    config: Config,
    credential: Credential,
    http: Http,
    tokens: TokenCache,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// No network happens here. An explicitly chosen credential that lacks a setting is
    /// reported now.
    pub fn new(config: Config) -> Result<Client, Error> {
        let credential = Credential::from_config(&config)?;
        let http = Http::new(&config);
        Ok(Client {
            config,
            credential,
            http,
            tokens: TokenCache::new(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// `GET /keys/<name>[/<version>]`. The returned key's `id` is pinned to the version the
    /// service reported in `kid`.
    pub fn get_key(&self, id: &KeyId) -> Result<Key, Error> {
        let url = format!("{}?api-version={}", id.url(), self.config.api_version);
        self.call(id, "GET", &url, None)
            .and_then(|bundle| parse_key_bundle(id, &bundle))
            .map_err(|e| e.for_key(id))
    }

    /// `POST .../sign`: `digest` must be `alg.digest_len()` bytes. RSA signatures come back as
    /// the service returns them; ES* signatures are raw `r‖s`.
    pub fn sign(
        &self,
        id: &KeyId,
        alg: SignatureAlgorithm,
        digest: &[u8],
    ) -> Result<Vec<u8>, Error> {
        check_digest(id, alg, digest)?;
        let body = json!({"alg": alg.as_str(), "value": B64.encode(digest)});
        self.operation(id, "sign", &body, |answer| {
            let signature = decode_value(answer, "value")?;
            match raw_ecdsa_len(alg) {
                Some(len) if signature.len() != len => Err(Error::invalid_response(format!(
                    "{} signature is {} bytes, expected {len}",
                    alg.as_str(),
                    signature.len()
                ))),
                _ => Ok(signature),
            }
        })
    }

    /// `POST .../verify`
    pub fn verify(
        &self,
        id: &KeyId,
        alg: SignatureAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<bool, Error> {
        check_digest(id, alg, digest)?;
        let body = json!({
            "alg": alg.as_str(),
            "digest": B64.encode(digest),
            "value": B64.encode(signature),
        });
        self.operation(id, "verify", &body, |answer| {
            answer
                .get("value")
                .and_then(Value::as_bool)
                .ok_or_else(|| Error::invalid_response("verify answer has no boolean 'value'"))
        })
    }

    /// `POST .../encrypt`
    pub fn encrypt(
        &self,
        id: &KeyId,
        alg: EncryptionAlgorithm,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        self.cipher(id, "encrypt", alg, plaintext)
    }

    /// `POST .../decrypt`
    pub fn decrypt(
        &self,
        id: &KeyId,
        alg: EncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        self.cipher(id, "decrypt", alg, ciphertext)
    }

    /// `POST .../wrapkey`
    pub fn wrap_key(
        &self,
        id: &KeyId,
        alg: EncryptionAlgorithm,
        key: &[u8],
    ) -> Result<Vec<u8>, Error> {
        self.cipher(id, "wrapkey", alg, key)
    }

    /// `POST .../unwrapkey`
    pub fn unwrap_key(
        &self,
        id: &KeyId,
        alg: EncryptionAlgorithm,
        wrapped: &[u8],
    ) -> Result<Vec<u8>, Error> {
        self.cipher(id, "unwrapkey", alg, wrapped)
    }

    /// A token for `audience` now (cached, or fetched). Useful to check a credential before
    /// the first key operation.
    pub fn token_for(&self, audience: &str) -> Result<Secret, Error> {
        self.token_for_tenant(audience, None)
    }

    /// A token for `audience`, of the configured tenant or else of `challenge_tenant`.
    fn token_for_tenant(
        &self,
        audience: &str,
        challenge_tenant: Option<&str>,
    ) -> Result<Secret, Error> {
        let tenant = self.config.tenant_id.as_deref().or(challenge_tenant);
        self.tokens.get(
            audience,
            tenant,
            // The refreshing thread is bounded by its own timeouts and retries; waiting twice
            // the longest request (IMDS's 70 s of 410s) only guards against a bug there.
            self.http.longest_send() * 2,
            || {
                self.credential
                    .get_token_for_tenant(&self.http, audience, challenge_tenant)
            },
        )
    }

    fn cipher(
        &self,
        id: &KeyId,
        op: &str,
        alg: EncryptionAlgorithm,
        value: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let body = json!({"alg": alg.as_str(), "value": B64.encode(value)});
        self.operation(id, op, &body, |answer| decode_value(answer, "value"))
    }

    /// `POST .../<op>` and `parse` of the answer; any error names the key.
    fn operation<T>(
        &self,
        id: &KeyId,
        op: &str,
        body: &Value,
        parse: impl FnOnce(&Value) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let url = format!(
            "{}?api-version={}",
            id.operation_url(op),
            self.config.api_version
        );
        self.call(id, "POST", &url, Some(body))
            .and_then(|answer| parse(&answer))
            .map_err(|e| e.for_key(id))
    }

    /// One REST call with a bearer token. On a 401 the call is made once more with a new
    /// token: of the tenant the service's challenge names when no tenant is configured and
    /// the refused token was for another (azure-identity's behaviour, which lets an Azure
    /// CLI logged in to several tenants reach a vault outside its default one), else a fresh
    /// one of the same tenant.
    fn call(
        &self,
        id: &KeyId,
        method: &'static str,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, Error> {
        let audience = id.audience();
        let host = id.host();
        let body = body.map(|b| b.to_string().into_bytes());
        let mut challenge_tenant = self.tokens.challenge_tenant(&host);
        let mut attempt = 0;
        let resp = loop {
            let token = self.token_for_tenant(audience, challenge_tenant.as_deref())?;
            let mut req = match &body {
                Some(b) => Request::post(url, Route::Service, "application/json", b.clone()),
                None => Request::get(url, Route::Service),
            };
            req = req
                .header("accept", "application/json")
                .header("authorization", format!("Bearer {}", token.expose()));
            let resp = self.http.send(&req)?;
            if resp.status != 401 {
                break resp;
            }
            let named = resp
                .www_authenticate
                .as_deref()
                .and_then(tenant_of_challenge);
            let tenant = self
                .config
                .tenant_id
                .as_deref()
                .or(challenge_tenant.as_deref());
            if attempt == 1 {
                if let (Some(used), Some(named)) = (tenant, &named) {
                    if used != named {
                        tracing::warn!(key = %id, tenant = used, challenge_tenant = %named, "the service refused a token of the configured tenant and names another in its challenge");
                    }
                }
                break resp;
            }
            attempt = 1;
            self.tokens.invalidate(audience, tenant, &token);
            match named {
                Some(named) if self.config.tenant_id.is_none() && tenant != Some(&named) => {
                    tracing::info!(key = %id, tenant = %named, "service refused the token (401) and names its tenant: getting a token of that tenant");
                    self.tokens.set_challenge_tenant(&host, &named);
                    challenge_tenant = Some(named);
                }
                _ => {
                    tracing::info!(key = %id, "service refused the token (401): getting a new one")
                }
            }
        };
        if !resp.is_success() {
            return Err(service_error(resp.status, &resp.body, resp.request_id));
        }
        serde_json::from_slice(&resp.body).map_err(|_| {
            Error::invalid_response(format!(
                "{method} {} answered {} with a body that is not JSON",
                host_of(url),
                resp.status
            ))
        })
    }
}

/// The tenant a `WWW-Authenticate: Bearer authorization="https://<authority>/<tenant>", ...`
/// challenge names (`authorization_uri` too), as the Azure SDKs read it: the first path
/// segment of that URI. Only a well-formed tenant id is taken.
fn tenant_of_challenge(challenge: &str) -> Option<String> {
    let (scheme, params) = challenge.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let uri = params.split(',').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        let name = name.trim();
        (name.eq_ignore_ascii_case("authorization")
            || name.eq_ignore_ascii_case("authorization_uri"))
        .then(|| value.trim().trim_matches('"'))
    })?;
    let url = url::Url::parse(uri).ok()?;
    let tenant = url.path_segments()?.next()?;
    crate::config::is_tenant_id(tenant).then(|| tenant.to_string())
}

fn check_digest(id: &KeyId, alg: SignatureAlgorithm, digest: &[u8]) -> Result<(), Error> {
    if digest.len() != alg.digest_len() {
        return Err(Error::unsupported(format!(
            "{} takes a {}-byte digest, got {} bytes",
            alg.as_str(),
            alg.digest_len(),
            digest.len()
        ))
        .for_key(id));
    }
    Ok(())
}

fn raw_ecdsa_len(alg: SignatureAlgorithm) -> Option<usize> {
    let curve = match alg {
        SignatureAlgorithm::Es256 => Curve::P256,
        SignatureAlgorithm::Es256K => Curve::P256K,
        SignatureAlgorithm::Es384 => Curve::P384,
        SignatureAlgorithm::Es512 => Curve::P521,
        _ => return None,
    };
    Some(2 * curve.coordinate_len())
}

/// The service's `{"error":{"code","message","innererror":{"code"}}}`, kept whole.
fn service_error(status: u16, body: &[u8], request_id: Option<String>) -> Error {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let error = json.as_ref().and_then(|j| j.get("error"));
    let field = |v: Option<&Value>, name: &str| {
        v.and_then(|e| e.get(name))
            .and_then(Value::as_str)
            .map(printable)
    };
    let inner = error.and_then(|e| {
        e.as_object().and_then(|o| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("innererror"))
                .map(|(_, v)| v)
        })
    });
    let code = field(error, "code").unwrap_or_else(|| default_code(status).to_string());
    let message = field(error, "message").unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let first = text.lines().next().unwrap_or("").trim();
        printable(first)
    });
    Error::Service {
        status,
        code,
        inner_code: field(inner, "code"),
        message,
        request_id,
        key: None,
    }
}

fn default_code(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        429 => "Throttled",
        500 => "InternalServerError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "",
    }
}

fn decode_value(answer: &Value, field: &str) -> Result<Vec<u8>, Error> {
    let text = answer
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid_response(format!("answer has no '{field}'")))?;
    decode_b64url(text)
        .ok_or_else(|| Error::invalid_response(format!("'{field}' is not base64url")))
}

/// base64url as the service sends it (no padding), tolerating padding.
fn decode_b64url(text: &str) -> Option<Vec<u8>> {
    B64.decode(text.trim_end_matches('=')).ok()
}

fn parse_key_bundle(requested: &KeyId, bundle: &Value) -> Result<Key, Error> {
    let bad = Error::invalid_response;
    let jwk = bundle
        .get("key")
        .ok_or_else(|| bad("key bundle has no 'key'".into()))?;
    let kid = jwk
        .get("kid")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("key has no 'kid'".into()))?;
    let from_kid = KeyId::from_kid(kid).map_err(|e| bad(format!("kid: {e}")))?;
    if !from_kid.same_key(requested) {
        return Err(bad(format!(
            "asked for {requested}, the service returned kid {}",
            printable(kid)
        )));
    }
    let version = from_kid.version().unwrap_or_default();
    if let Some(asked) = requested.version() {
        if asked != version {
            return Err(bad(format!(
                "asked for version {asked}, the service returned {version}"
            )));
        }
    }
    let id = requested.with_version(version)?;

    let kty_text = jwk.get("kty").and_then(Value::as_str).unwrap_or("");
    let kty = match kty_text {
        "RSA" => KeyType::Rsa,
        "RSA-HSM" => KeyType::RsaHsm,
        "EC" => KeyType::Ec,
        "EC-HSM" => KeyType::EcHsm,
        "oct" => KeyType::Oct,
        "oct-HSM" => KeyType::OctHsm,
        other => return Err(bad(format!("unknown kty '{}'", printable(other)))),
    };
    let bytes = |name: &str| -> Result<Vec<u8>, Error> {
        let text = jwk
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("{kty_text} key has no '{name}'")))?;
        decode_b64url(text).ok_or_else(|| bad(format!("'{name}' is not base64url")))
    };
    let public = match kty {
        KeyType::Rsa | KeyType::RsaHsm => {
            let n = bytes("n")?;
            let e = bytes("e")?;
            if n.is_empty() || e.is_empty() {
                return Err(bad("RSA key with an empty 'n' or 'e'".into()));
            }
            PublicKey::Rsa { n, e }
        }
        KeyType::Ec | KeyType::EcHsm => {
            let crv = jwk.get("crv").and_then(Value::as_str).unwrap_or("");
            let curve = Curve::from_jwk_name(crv)
                .ok_or_else(|| bad(format!("unknown curve '{}'", printable(crv))))?;
            let len = curve.coordinate_len();
            let coordinate = |name: &str| -> Result<Vec<u8>, Error> {
                let mut v = bytes(name)?;
                if v.len() > len {
                    return Err(bad(format!(
                        "'{name}' is {} bytes, more than {len} for {crv}",
                        v.len()
                    )));
                }
                // Left-pad a coordinate sent without its leading zero bytes.
                if v.len() < len {
                    let mut padded = vec![0; len - v.len()];
                    padded.append(&mut v);
                    v = padded;
                }
                Ok(v)
            };
            PublicKey::Ec {
                curve,
                x: coordinate("x")?,
                y: coordinate("y")?,
            }
        }
        KeyType::Oct | KeyType::OctHsm => PublicKey::Symmetric,
    };
    let key_ops = jwk
        .get("key_ops")
        .and_then(Value::as_array)
        .map(|ops| {
            ops.iter()
                .filter_map(Value::as_str)
                .map(KeyOperation::parse)
                .collect()
        })
        .unwrap_or_default();
    let attrs = bundle.get("attributes");
    let int = |name: &str| attrs.and_then(|a| a.get(name)).and_then(Value::as_i64);
    let attributes = KeyAttributes {
        enabled: attrs
            .and_then(|a| a.get("enabled"))
            .and_then(Value::as_bool),
        not_before: int("nbf"),
        expires: int("exp"),
        created: int("created"),
        updated: int("updated"),
        recovery_level: attrs
            .and_then(|a| a.get("recoveryLevel"))
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    Ok(Key {
        id,
        kid: kid.to_string(),
        kty,
        public,
        key_ops,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyid::Cloud;

    const V: &str = "78deebed173b48e48f55abf87ed4cf71";

    fn id(uri: &str) -> KeyId {
        KeyId::parse(uri, Cloud::Public).unwrap()
    }

    #[test]
    fn key_bundle_rsa_is_parsed_and_pinned() {
        let bundle = json!({
            "key": {
                "kid": format!("https://myvault.vault.azure.net/keys/rsa1/{V}"),
                "kty": "RSA-HSM",
                "key_ops": ["sign", "verify", "wrapKey", "release"],
                "n": B64.encode([0xc3u8; 256]),
                "e": "AQAB"
            },
            "attributes": {"enabled": true, "created": 1493942451, "updated": 1493942452,
                           "nbf": 10, "exp": 4000000000u64, "recoveryLevel": "Recoverable+Purgeable"}
        });
        let key = parse_key_bundle(&id("akv:vault:myvault:rsa1"), &bundle).unwrap();
        assert_eq!(key.id.version(), Some(V));
        assert_eq!(key.kty, KeyType::RsaHsm);
        assert_eq!(
            key.public,
            PublicKey::Rsa {
                n: vec![0xc3; 256],
                e: vec![1, 0, 1]
            }
        );
        assert_eq!(
            key.key_ops,
            [
                KeyOperation::Sign,
                KeyOperation::Verify,
                KeyOperation::WrapKey,
                KeyOperation::Other("release".into())
            ]
        );
        assert_eq!(key.attributes.enabled, Some(true));
        assert_eq!(key.attributes.not_before, Some(10));
        assert_eq!(key.attributes.expires, Some(4000000000));
        assert_eq!(key.attributes.created, Some(1493942451));
        assert_eq!(
            key.attributes.recovery_level.as_deref(),
            Some("Recoverable+Purgeable")
        );
    }

    #[test]
    fn key_bundle_ec_coordinates_are_fixed_length() {
        let bundle = json!({"key": {
            "kid": format!("https://h01.managedhsm.azure.net/keys/ec/{V}"),
            "kty": "EC-HSM", "crv": "P-521",
            "x": B64.encode([1u8; 65]), "y": B64.encode([2u8; 66])
        }});
        let key = parse_key_bundle(&id("akv:managedHsm:h01:ec"), &bundle).unwrap();
        match key.public {
            PublicKey::Ec { curve, x, y } => {
                assert_eq!(curve, Curve::P521);
                assert_eq!(x.len(), 66);
                assert_eq!(x[0], 0);
                assert_eq!(y, vec![2; 66]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn key_bundle_for_another_key_or_version_is_refused() {
        let other = json!({"key": {
            "kid": format!("https://other.vault.azure.net/keys/rsa1/{V}"),
            "kty": "RSA", "n": "AQAB", "e": "AQAB"
        }});
        let err = parse_key_bundle(&id("akv:vault:myvault:rsa1"), &other).unwrap_err();
        assert!(matches!(err, Error::InvalidResponse { .. }), "{err}");
        let same = json!({"key": {
            "kid": format!("https://myvault.vault.azure.net/keys/rsa1/{V}"),
            "kty": "RSA", "n": "AQAB", "e": "AQAB"
        }});
        let err = parse_key_bundle(&id("akv:vault:myvault:rsa1:0123abcd"), &same).unwrap_err();
        assert!(err.to_string().contains("version"), "{err}");
        let bad_kty = json!({"key": {
            "kid": format!("https://myvault.vault.azure.net/keys/rsa1/{V}"), "kty": "DSA"}});
        assert!(parse_key_bundle(&id("akv:vault:myvault:rsa1"), &bad_kty).is_err());
        assert!(parse_key_bundle(&id("akv:vault:myvault:rsa1"), &json!({})).is_err());
    }

    #[test]
    fn service_errors_keep_code_inner_code_message_and_request_id() {
        let body = br#"{"error":{"code":"Forbidden","message":"Operation decrypt is not permitted on this key.","innererror":{"code":"KeyOperationForbidden"}}}"#;
        match service_error(403, body, Some("rid-1".into())) {
            Error::Service {
                status,
                code,
                inner_code,
                message,
                request_id,
                ..
            } => {
                assert_eq!(status, 403);
                assert_eq!(code, "Forbidden");
                assert_eq!(inner_code.as_deref(), Some("KeyOperationForbidden"));
                assert_eq!(message, "Operation decrypt is not permitted on this key.");
                assert_eq!(request_id.as_deref(), Some("rid-1"));
            }
            other => panic!("{other:?}"),
        }
        let e = service_error(
            403,
            br#"{"error":{"code":"Forbidden","message":"m","innerError":{"code":"KeyDisabled"}}}"#,
            None,
        );
        assert!(e.to_string().contains("KeyDisabled"), "{e}");
        let e = service_error(503, b"", None);
        assert_eq!(e.to_string(), "service answered 503 ServiceUnavailable");
    }

    #[test]
    fn tenant_is_read_from_the_401_challenge_as_the_azure_sdks_read_it() {
        let tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        for challenge in [
            format!(
                r#"Bearer authorization="https://login.microsoftonline.com/{tid}", resource="https://vault.azure.net""#
            ),
            format!(r#"Bearer authorization="https://login.windows.net/{tid}""#),
            format!(
                r#"bearer resource="https://managedhsm.azure.net", authorization_uri="https://login.microsoftonline.us/{tid}/""#
            ),
            format!("Bearer authorization=https://login.microsoftonline.com/{tid}"),
        ] {
            assert_eq!(
                tenant_of_challenge(&challenge).as_deref(),
                Some(tid),
                "{challenge}"
            );
        }
        assert_eq!(
            tenant_of_challenge(r#"Bearer authorization="https://login.microsoftonline.com/contoso.onmicrosoft.com""#)
                .as_deref(),
            Some("contoso.onmicrosoft.com")
        );
        for challenge in [
            "Basic realm=/var/opt/azcmagent/tokens/x.key",
            r#"Bearer resource="https://vault.azure.net""#,
            r#"Bearer authorization="https://login.microsoftonline.com/""#,
            r#"Bearer authorization="https://login.microsoftonline.com/te%20nant""#,
            r#"Bearer authorization="https://login.microsoftonline.com/a;rm -rf""#,
            r#"Bearer authorization="not a url""#,
            "Bearer",
            "",
        ] {
            assert_eq!(tenant_of_challenge(challenge), None, "{challenge}");
        }
    }

    #[test]
    fn a_client_is_shared_by_threads() {
        fn send_and_sync<T: Send + Sync>() {}
        send_and_sync::<Client>();
        send_and_sync::<Error>();
    }

    #[test]
    fn wrong_digest_length_is_refused_before_any_network() {
        let client = Client::new(Config {
            credential: crate::CredentialKind::AccessToken,
            access_token: Some(Secret::new("t")),
            // a port nothing listens on: a request would fail differently
            connect_to: Some("127.0.0.1:1".into()),
            ..Config::default()
        })
        .unwrap();
        let err = client
            .sign(
                &id("akv:vault:myvault:rsa1"),
                SignatureAlgorithm::Rs256,
                &[0; 20],
            )
            .unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err}");
        assert!(err.to_string().contains("32-byte"), "{err}");
    }
}
