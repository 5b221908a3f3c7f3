//! The keys REST API of a vault or Managed HSM: routes, the checks the services make
//! (key_ops, enabled, nbf/exp, algorithms, lengths) and the JSON they answer.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::crypto::{self, CipherInput, CipherOp};
use crate::error::ApiError;
use crate::host::Service;
use crate::http::{Request, Response};
use crate::keys::{self, KeyEntry, KeyVersion, Material, Store};
use crate::util::{b64url, b64url_decode, now, valid_name};

/// The api-versions the emulator serves (DESIGN §5): 7.0–7.6 (and their previews), 2025-07-01.
pub fn api_version_supported(v: &str) -> bool {
    let base = v.split_once("-preview").map(|(b, _)| b).unwrap_or(v);
    matches!(base, "7.0" | "7.1" | "7.2" | "7.3" | "7.4" | "7.5" | "7.6") || v == "2025-07-01"
}

/// Checks the `api-version` query parameter as the services do: a vault requires one, a
/// Managed HSM answers without.
pub fn check_api_version(service: &Service, version: Option<&str>) -> Result<(), ApiError> {
    match version {
        None if service.managed_hsm => Ok(()),
        None => Err(ApiError::bad(
            "The request is missing the required query parameter api-version.",
        )),
        Some(v) if api_version_supported(v) => Ok(()),
        Some(v) => Err(ApiError::bad(format!(
            "The specified version ({v}) is not recognized. Consider using the latest supported version (2025-07-01)."
        ))),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRoute {
    ListKeys,
    Get {
        name: String,
        version: Option<String>,
    },
    Versions {
        name: String,
    },
    Create {
        name: String,
    },
    Import {
        name: String,
    },
    Update {
        name: String,
        version: Option<String>,
    },
    Delete {
        name: String,
    },
    Crypto {
        name: String,
        version: Option<String>,
        op: Op,
    },
    ListDeleted,
    GetDeleted {
        name: String,
    },
    Purge {
        name: String,
    },
    Recover {
        name: String,
    },
    Rng,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Sign,
    Verify,
    Encrypt,
    Decrypt,
    WrapKey,
    UnwrapKey,
}

impl Op {
    fn parse(segment: &str) -> Option<Op> {
        Some(match segment.to_ascii_lowercase().as_str() {
            "sign" => Op::Sign,
            "verify" => Op::Verify,
            "encrypt" => Op::Encrypt,
            "decrypt" => Op::Decrypt,
            "wrapkey" => Op::WrapKey,
            "unwrapkey" => Op::UnwrapKey,
            _ => return None,
        })
    }

    /// The operation's name in stats and faults.
    pub fn stat_name(self) -> &'static str {
        match self {
            Op::Sign => "sign",
            Op::Verify => "verify",
            Op::Encrypt => "encrypt",
            Op::Decrypt => "decrypt",
            Op::WrapKey => "wrapkey",
            Op::UnwrapKey => "unwrapkey",
        }
    }

    /// The `key_ops` entry that permits it.
    fn key_op(self) -> &'static str {
        match self {
            Op::Sign => "sign",
            Op::Verify => "verify",
            Op::Encrypt => "encrypt",
            Op::Decrypt => "decrypt",
            Op::WrapKey => "wrapKey",
            Op::UnwrapKey => "unwrapKey",
        }
    }

    /// Operations that use the key's secret half (blocked on a disabled key).
    fn uses_private_key(self) -> bool {
        matches!(self, Op::Sign | Op::Decrypt | Op::UnwrapKey)
    }

    /// Operations that produce new protected data (blocked outside nbf..exp).
    fn protects(self) -> bool {
        matches!(self, Op::Sign | Op::Encrypt | Op::WrapKey)
    }
}

impl KeyRoute {
    /// The name this request counts under in `/_emulator/stats` and matches in faults.
    pub fn stat_name(&self) -> &'static str {
        match self {
            KeyRoute::ListKeys => "list_keys",
            KeyRoute::Get { .. } => "get_key",
            KeyRoute::Versions { .. } => "list_versions",
            KeyRoute::Create { .. } => "create",
            KeyRoute::Import { .. } => "import",
            KeyRoute::Update { .. } => "update",
            KeyRoute::Delete { .. } => "delete",
            KeyRoute::Crypto { op, .. } => op.stat_name(),
            KeyRoute::ListDeleted => "list_deleted",
            KeyRoute::GetDeleted { .. } => "get_deleted",
            KeyRoute::Purge { .. } => "purge",
            KeyRoute::Recover { .. } => "recover",
            KeyRoute::Rng => "rng",
        }
    }
}

fn name_ok(name: &str) -> Result<String, ApiError> {
    if valid_name(name, 1, 127) {
        Ok(name.to_string())
    } else {
        Err(ApiError::bad(format!(
            "Invalid key name '{}': a key name is 1-127 characters of 0-9, a-z, A-Z and '-'.",
            name.chars().take(130).collect::<String>()
        )))
    }
}

fn version_ok(version: &str) -> Result<Option<String>, ApiError> {
    if version.is_empty() {
        Ok(None)
    } else if version.len() <= 64 && version.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(Some(version.to_string()))
    } else {
        Err(ApiError::bad(format!(
            "Invalid key version '{}': a version is up to 64 characters of 0-9, a-z, A-Z.",
            version.chars().take(70).collect::<String>()
        )))
    }
}

fn not_found(path: &str) -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        format!(
            "No operation matches '{}'.",
            path.chars().take(200).collect::<String>()
        ),
    )
}

fn method_not_allowed(method: &str) -> ApiError {
    ApiError::new(
        405,
        "MethodNotAllowed",
        format!(
            "The requested resource does not support http method '{}'.",
            method.chars().take(20).collect::<String>()
        ),
    )
}

/// Maps a method and path to an operation.
pub fn route(method: &str, path: &str) -> Result<KeyRoute, ApiError> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let m = method;
    let wrong = || method_not_allowed(m);
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    match lower.as_slice() {
        ["keys"] | ["keys", ""] => match m {
            "GET" => Ok(KeyRoute::ListKeys),
            _ => Err(wrong()),
        },
        ["keys", _] => {
            let name = name_ok(segments[1])?;
            match m {
                "GET" => Ok(KeyRoute::Get {
                    name,
                    version: None,
                }),
                "PUT" => Ok(KeyRoute::Import { name }),
                "DELETE" => Ok(KeyRoute::Delete { name }),
                "PATCH" => Ok(KeyRoute::Update {
                    name,
                    version: None,
                }),
                _ => Err(wrong()),
            }
        }
        ["keys", _, "versions"] | ["keys", _, "versions", ""] => match m {
            "GET" => Ok(KeyRoute::Versions {
                name: name_ok(segments[1])?,
            }),
            _ => Err(wrong()),
        },
        ["keys", _, "create"] => match m {
            "POST" => Ok(KeyRoute::Create {
                name: name_ok(segments[1])?,
            }),
            _ => Err(wrong()),
        },
        ["keys", _, _] => {
            let name = name_ok(segments[1])?;
            let version = version_ok(segments[2])?;
            match m {
                "GET" => Ok(KeyRoute::Get { name, version }),
                "PATCH" => Ok(KeyRoute::Update { name, version }),
                "PUT" if version.is_none() => Ok(KeyRoute::Import { name }),
                "DELETE" if version.is_none() => Ok(KeyRoute::Delete { name }),
                _ => Err(wrong()),
            }
        }
        ["keys", _, _, op] => {
            let Some(op) = Op::parse(op) else {
                return Err(not_found(path));
            };
            let name = name_ok(segments[1])?;
            let version = version_ok(segments[2])?;
            match m {
                "POST" => Ok(KeyRoute::Crypto { name, version, op }),
                _ => Err(wrong()),
            }
        }
        ["deletedkeys"] | ["deletedkeys", ""] => match m {
            "GET" => Ok(KeyRoute::ListDeleted),
            _ => Err(wrong()),
        },
        ["deletedkeys", _] => {
            let name = name_ok(segments[1])?;
            match m {
                "GET" => Ok(KeyRoute::GetDeleted { name }),
                "DELETE" => Ok(KeyRoute::Purge { name }),
                _ => Err(wrong()),
            }
        }
        ["deletedkeys", _, "recover"] => match m {
            "POST" => Ok(KeyRoute::Recover {
                name: name_ok(segments[1])?,
            }),
            _ => Err(wrong()),
        },
        ["rng"] => match m {
            "POST" => Ok(KeyRoute::Rng),
            _ => Err(wrong()),
        },
        _ => Err(not_found(path)),
    }
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad(
            "The request body is empty: a JSON object is required.",
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad(format!("The request body is not valid JSON: {e}.")))?;
    if !value.is_object() {
        return Err(ApiError::bad("The request body must be a JSON object."));
    }
    Ok(value)
}

fn required_b64(body: &Value, field: &str) -> Result<Vec<u8>, ApiError> {
    optional_b64(body, field)?.ok_or_else(|| {
        ApiError::bad(format!(
            "The request is missing the required property {field}."
        ))
    })
}

fn optional_b64(body: &Value, field: &str) -> Result<Option<Vec<u8>>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => b64url_decode(s)
            .map(Some)
            .ok_or_else(|| ApiError::bad(format!("Property {field} is not valid base64url."))),
        Some(_) => Err(ApiError::bad(format!(
            "Property {field} must be a base64url string."
        ))),
    }
}

fn required_alg(body: &Value) -> Result<&str, ApiError> {
    match body.get("alg") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        None | Some(Value::Null) => Err(ApiError::bad(
            "The request is missing the required property alg.",
        )),
        Some(_) => Err(ApiError::bad("Property alg has invalid value.")),
    }
}

/// The service answers lists in pages of at most 25 items (`maxresults` 1 to 25), each with a
/// `nextLink` carrying an opaque `$skiptoken` (null on the last page).
const MAX_PAGE: usize = 25;

/// What a list request asks for: `maxresults`, where to resume (`$skiptoken`).
struct Page<'a> {
    max: usize,
    max_given: bool,
    /// The sort key of the first item to return.
    resume_at: Option<String>,
    api_version: Option<&'a str>,
}

impl Page<'_> {
    fn of(req: &Request) -> Result<Page<'_>, ApiError> {
        let max = match req.query("maxresults") {
            None => MAX_PAGE,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    ApiError::bad(format!(
                        "Invalid value {} for query parameter maxresults: an integer from 1 to 25 is expected.",
                        v.chars().take(20).collect::<String>()
                    ))
                })?,
        };
        let resume_at = match req.query("$skiptoken") {
            None => None,
            Some(token) => Some(
                b64url_decode(token)
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| ApiError::bad("The $skiptoken is invalid."))?,
            ),
        };
        Ok(Page {
            max,
            max_given: req.query("maxresults").is_some(),
            resume_at,
            api_version: req.query("api-version"),
        })
    }

    /// The page of `items` (sorted by their sort key) this request gets, with the link to
    /// the next one: `https://<host>:443<path>?api-version=..&$skiptoken=..`, as the service
    /// writes it.
    fn answer(&self, items: Vec<(String, Value)>, host: &str, path: &str) -> Value {
        let start = self
            .resume_at
            .as_ref()
            .map_or(0, |at| items.partition_point(|(key, _)| key < at));
        let rest = &items[start..];
        let (this, next) = rest.split_at(rest.len().min(self.max));
        let next_link = next.first().map(|(key, _)| {
            let mut link = format!("https://{host}:443{path}?");
            if let Some(v) = self.api_version {
                link.push_str(&format!("api-version={v}&"));
            }
            link.push_str(&format!("$skiptoken={}", b64url(key.as_bytes())));
            if self.max_given {
                link.push_str(&format!("&maxresults={}", self.max));
            }
            link
        });
        let value: Vec<Value> = this.iter().map(|(_, v)| v.clone()).collect();
        json!({"value": value, "nextLink": next_link})
    }
}

/// Shared state the handlers need.
pub struct Keys<'a> {
    pub store: &'a Mutex<Store>,
    pub service: &'a Service,
}

impl Keys<'_> {
    fn host(&self) -> String {
        self.service.host()
    }

    /// Runs `f` on this service's vault, under the store's lock (no I/O or crypto in `f`).
    fn with_vault<T>(&self, f: impl FnOnce(&mut keys::Vault) -> T) -> T {
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        f(store.vault(self.service.managed_hsm, &self.service.vault))
    }

    fn lookup(&self, name: &str, version: Option<&str>) -> Result<Arc<KeyVersion>, ApiError> {
        self.with_vault(|vault| {
            let entry = vault
                .keys
                .get(&name.to_ascii_lowercase())
                .ok_or_else(|| ApiError::key_not_found(name))?;
            match version {
                None => Ok(entry.latest()),
                Some(v) => entry
                    .version(v)
                    .ok_or_else(|| ApiError::key_not_found(&format!("{name}/{v}"))),
            }
        })
    }

    /// Adds a version to `name` (creating the key if new) and returns it.
    pub fn add_version(
        &self,
        name: &str,
        new_key: keys::NewKey,
    ) -> Result<Arc<KeyVersion>, ApiError> {
        self.with_vault(|vault| {
            let lower = name.to_ascii_lowercase();
            if vault.deleted.contains_key(&lower) {
                return Err(ApiError::new(
                    409,
                    "Conflict",
                    format!(
                        "Key {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged."
                    ),
                ));
            }
            let entry = vault.keys.entry(lower).or_insert_with(|| KeyEntry {
                name: name.to_string(),
                versions: Vec::new(),
            });
            let version = Arc::new(new_key.into_version(&entry.name));
            entry.versions.push(version.clone());
            Ok(version)
        })
    }

    pub fn handle(&self, route: KeyRoute, req: &Request) -> Response {
        match self.dispatch(route, req) {
            // Only purge answers no content.
            Ok(Value::Null) => Response::new(204),
            Ok(value) => Response::json(200, &value),
            Err(e) => e.response(),
        }
    }

    fn dispatch(&self, route: KeyRoute, req: &Request) -> Result<Value, ApiError> {
        let host = self.host();
        let body = req.body.as_slice();
        match route {
            KeyRoute::Get { name, version } => {
                Ok(self.lookup(&name, version.as_deref())?.bundle(&host))
            }
            KeyRoute::Create { name } => {
                let new_key = keys::create_request(self.service.managed_hsm, &parse_body(body)?)?;
                Ok(self.add_version(&name, new_key)?.bundle(&host))
            }
            KeyRoute::Import { name } => {
                let new_key = keys::import_request(self.service.managed_hsm, &parse_body(body)?)?;
                Ok(self.add_version(&name, new_key)?.bundle(&host))
            }
            KeyRoute::Update { name, version } => self.update(&name, version.as_deref(), body),
            KeyRoute::Versions { name } => {
                let page = Page::of(req)?;
                let items = self.with_vault(|vault| {
                    let entry = vault
                        .keys
                        .get(&name.to_ascii_lowercase())
                        .ok_or_else(|| ApiError::key_not_found(&name))?;
                    Ok::<_, ApiError>(
                        entry
                            .versions
                            .iter()
                            .enumerate()
                            .map(|(i, v)| (format!("{i:010}"), v.item(v.kid(&host))))
                            .collect(),
                    )
                })?;
                Ok(page.answer(items, &host, &format!("/keys/{name}/versions")))
            }
            KeyRoute::ListKeys => {
                let page = Page::of(req)?;
                let items = self.with_vault(|vault| {
                    vault
                        .keys
                        .iter()
                        .map(|(lower, e)| {
                            let kid = format!("https://{host}/keys/{}", e.name);
                            (lower.clone(), e.latest().item(kid))
                        })
                        .collect()
                });
                Ok(page.answer(items, &host, "/keys"))
            }
            KeyRoute::Delete { name } => self.with_vault(|vault| {
                let lower = name.to_ascii_lowercase();
                let entry = vault
                    .keys
                    .remove(&lower)
                    .ok_or_else(|| ApiError::key_not_found(&name))?;
                let deleted = keys::DeletedKey {
                    entry,
                    deleted_date: now(),
                };
                let value = deleted_bundle(&deleted, &host);
                vault.deleted.insert(lower, deleted);
                Ok(value)
            }),
            KeyRoute::ListDeleted => {
                let page = Page::of(req)?;
                let items = self.with_vault(|vault| {
                    vault
                        .deleted
                        .iter()
                        .map(|(lower, d)| {
                            let mut item = deleted_bundle(d, &host);
                            let latest = d.entry.latest();
                            item["kid"] = json!(format!("https://{host}/keys/{}", latest.name));
                            item.as_object_mut().map(|o| o.remove("key"));
                            (lower.clone(), item)
                        })
                        .collect()
                });
                Ok(page.answer(items, &host, "/deletedkeys"))
            }
            KeyRoute::GetDeleted { name } => self.with_vault(|vault| {
                let deleted = vault
                    .deleted
                    .get(&name.to_ascii_lowercase())
                    .ok_or_else(|| deleted_not_found(&name))?;
                Ok(deleted_bundle(deleted, &host))
            }),
            KeyRoute::Purge { name } => self.with_vault(|vault| {
                vault
                    .deleted
                    .remove(&name.to_ascii_lowercase())
                    .ok_or_else(|| deleted_not_found(&name))?;
                Ok(Value::Null)
            }),
            KeyRoute::Recover { name } => self.with_vault(|vault| {
                let lower = name.to_ascii_lowercase();
                let deleted = vault
                    .deleted
                    .remove(&lower)
                    .ok_or_else(|| deleted_not_found(&name))?;
                let value = deleted.entry.latest().bundle(&host);
                vault.keys.insert(lower, deleted.entry);
                Ok(value)
            }),
            KeyRoute::Rng => {
                let body = parse_body(body)?;
                let count = body
                    .get("count")
                    .and_then(Value::as_u64)
                    .filter(|c| (1..=128).contains(c))
                    .ok_or_else(|| {
                        ApiError::bad("Property count must be an integer from 1 to 128.")
                    })?;
                Ok(json!({"value": b64url(&crate::util::random_bytes(count as usize))}))
            }
            KeyRoute::Crypto { name, version, op } => {
                self.crypto(&name, version.as_deref(), op, body)
            }
        }
    }

    fn update(&self, name: &str, version: Option<&str>, body: &[u8]) -> Result<Value, ApiError> {
        let body = parse_body(body)?;
        let host = self.host();
        self.with_vault(|vault| {
            let entry = vault
                .keys
                .get_mut(&name.to_ascii_lowercase())
                .ok_or_else(|| ApiError::key_not_found(name))?;
            let index = match version {
                None => entry.versions.len() - 1,
                Some(v) => entry
                    .versions
                    .iter()
                    .position(|k| k.version.eq_ignore_ascii_case(v))
                    .ok_or_else(|| ApiError::key_not_found(&format!("{name}/{v}")))?,
            };
            let mut updated = (*entry.versions[index]).clone();
            if let Some(ops) = body.get("key_ops").filter(|v| !v.is_null()) {
                updated.key_ops = keys::parse_key_ops(ops)?;
            }
            keys::apply_attributes(&mut updated.attributes, body.get("attributes"))?;
            if let Some(tags) = keys::parse_tags(body.get("tags"))? {
                updated.tags = Some(tags);
            }
            updated.attributes.updated = now();
            let bundle = updated.bundle(&host);
            entry.versions[index] = Arc::new(updated);
            Ok(bundle)
        })
    }

    fn crypto(
        &self,
        name: &str,
        version: Option<&str>,
        op: Op,
        body: &[u8],
    ) -> Result<Value, ApiError> {
        let body = parse_body(body)?;
        let key = self.lookup(name, version)?;
        if !key.key_ops.iter().any(|k| k == op.key_op()) {
            return Err(ApiError::forbidden(
                "KeyOperationForbidden",
                format!("Operation {} is not permitted on this key.", op.key_op()),
            ));
        }
        let secret_key = matches!(key.material, Material::Oct(_));
        if !key.attributes.enabled && (op.uses_private_key() || secret_key) {
            return Err(ApiError::forbidden(
                "KeyDisabled",
                format!(
                    "Operation {} is not allowed on a disabled key.",
                    op.key_op()
                ),
            ));
        }
        if op.protects() {
            let t = now();
            if key.attributes.nbf.is_some_and(|nbf| t < nbf) {
                return Err(ApiError::forbidden(
                    "KeyNotYetValid",
                    format!(
                        "Operation {} is not allowed on a key that is not yet valid.",
                        op.key_op()
                    ),
                ));
            }
            if key.attributes.exp.is_some_and(|exp| t >= exp) {
                return Err(ApiError::forbidden(
                    "KeyExpired",
                    format!(
                        "Operation {} is not allowed on an expired key.",
                        op.key_op()
                    ),
                ));
            }
        }
        let alg = required_alg(&body)?;
        let kid = key.kid(&self.host());
        match op {
            Op::Sign => {
                let digest = required_b64(&body, "value")?;
                let signature = crypto::sign(&key.material, alg, &digest)?;
                Ok(json!({"kid": kid, "value": b64url(&signature)}))
            }
            Op::Verify => {
                let digest = required_b64(&body, "digest")?;
                let signature = required_b64(&body, "value")?;
                let ok = crypto::verify(&key.material, alg, &digest, &signature)?;
                Ok(json!({ "value": ok }))
            }
            Op::Encrypt | Op::Decrypt | Op::WrapKey | Op::UnwrapKey => {
                let cipher_op = match op {
                    Op::Encrypt => CipherOp::Encrypt,
                    Op::Decrypt => CipherOp::Decrypt,
                    Op::WrapKey => CipherOp::Wrap,
                    _ => CipherOp::Unwrap,
                };
                let input = CipherInput {
                    value: required_b64(&body, "value")?,
                    iv: optional_b64(&body, "iv")?,
                    aad: optional_b64(&body, "aad")?,
                    tag: optional_b64(&body, "tag")?,
                };
                let out = crypto::cipher(&key.material, cipher_op, alg, &input)?;
                let mut v = json!({"kid": kid, "value": b64url(&out.value)});
                // A Managed HSM names the algorithm in an AES encryption result (captured).
                if op == Op::Encrypt && matches!(key.material, Material::Oct(_)) {
                    v["alg"] = json!(alg);
                }
                if let Some(iv) = out.iv {
                    v["iv"] = json!(b64url(&iv));
                }
                if let Some(tag) = out.tag {
                    v["tag"] = json!(b64url(&tag));
                }
                if let Some(aad) = out.aad {
                    v["aad"] = json!(b64url(&aad));
                }
                Ok(v)
            }
        }
    }
}

fn deleted_not_found(name: &str) -> ApiError {
    ApiError::new(404, "KeyNotFound", format!("Deleted Key not found: {name}"))
}

fn deleted_bundle(deleted: &keys::DeletedKey, host: &str) -> Value {
    let latest = deleted.entry.latest();
    let mut value = latest.bundle(host);
    value["recoveryId"] = json!(format!("https://{host}/deletedkeys/{}", latest.name));
    value["deletedDate"] = json!(deleted.deleted_date);
    value["scheduledPurgeDate"] = json!(deleted.deleted_date + 90 * 86_400);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_versionless_and_trailing_slash_forms() {
        assert_eq!(
            route("GET", "/keys/k/").unwrap(),
            KeyRoute::Get {
                name: "k".into(),
                version: None
            }
        );
        assert_eq!(
            route("POST", "/keys/k//sign").unwrap(),
            KeyRoute::Crypto {
                name: "k".into(),
                version: None,
                op: Op::Sign
            }
        );
        assert_eq!(
            route("POST", "/keys/k/abc/WrapKey").unwrap(),
            KeyRoute::Crypto {
                name: "k".into(),
                version: Some("abc".into()),
                op: Op::WrapKey
            }
        );
        assert_eq!(
            route("GET", "/keys/k/versions").unwrap(),
            KeyRoute::Versions { name: "k".into() }
        );
        assert_eq!(route("GET", "/keys/bad_name").unwrap_err().status, 400);
        assert_eq!(route("GET", "/secrets/x").unwrap_err().status, 404);
        assert_eq!(
            route("POST", "/keys/k/v/frobnicate").unwrap_err().status,
            404
        );
        assert_eq!(route("DELETE", "/keys/k/v/sign").unwrap_err().status, 405);
    }

    #[test]
    fn api_versions() {
        for v in ["7.0", "7.4", "7.6-preview.2", "2025-07-01"] {
            assert!(api_version_supported(v), "{v}");
        }
        for v in ["7.7", "2016-10-01", "", "2025-07-02"] {
            assert!(!api_version_supported(v), "{v}");
        }
    }
}
