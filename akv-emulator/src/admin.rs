//! The admin API (no auth, any host of the HTTPS port): `GET /_emulator/stats`,
//! `POST /_emulator/faults`, `DELETE /_emulator/faults` (DESIGN §5).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

/// Request counts per operation, and connections that carried a non-admin request.
#[derive(Default)]
pub struct Stats {
    requests: Mutex<(BTreeMap<String, u64>, u64)>,
}

impl Stats {
    pub fn count(&self, op: &str) {
        let mut s = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *s.0.entry(op.to_string()).or_insert(0) += 1;
    }

    pub fn count_connection(&self) {
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).1 += 1;
    }

    pub fn json(&self) -> Value {
        let s = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        json!({"requests": s.0, "connections": s.1})
    }
}

/// One injected misbehaviour, applied to the next `count` requests for `op`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub op: String,
    pub status: Option<u16>,
    pub retry_after: Option<u64>,
    pub delay: Option<Duration>,
    pub drop: bool,
    pub garbage: bool,
    pub count: u64,
}

/// What the server does for a request that matched a fault (after any delay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Only a delay: then handle the request normally.
    Proceed,
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    Drop,
    Garbage,
}

const FIELDS: &[&str] = &[
    "op",
    "status",
    "retry_after",
    "delay_ms",
    "drop",
    "garbage",
    "count",
];

/// Parses the JSON list `POST /_emulator/faults` takes.
pub fn parse_faults(value: &Value) -> Result<Vec<Fault>, String> {
    let list = value
        .as_array()
        .ok_or("faults must be a JSON list of objects")?;
    list.iter()
        .enumerate()
        .map(|(i, f)| parse_fault(f).map_err(|e| format!("fault #{i}: {e}")))
        .collect()
}

fn parse_fault(f: &Value) -> Result<Fault, String> {
    let obj = f.as_object().ok_or("not a JSON object")?;
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "unknown field '{unknown}' (fields: {})",
            FIELDS.join(", ")
        ));
    }
    let op = obj
        .get("op")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("'op' (a non-empty string such as \"sign\") is required")?
        .to_string();
    let uint = |name: &str| -> Result<Option<u64>, String> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("'{name}' must be a non-negative integer")),
        }
    };
    let flag = |name: &str| -> Result<bool, String> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(format!("'{name}' must be true or false")),
        }
    };
    let status = match uint("status")? {
        None => None,
        Some(s) if (200..=599).contains(&s) => Some(s as u16),
        Some(s) => return Err(format!("'status' {s} is not an HTTP status (200-599)")),
    };
    let delay = uint("delay_ms")?.map(Duration::from_millis);
    let drop = flag("drop")?;
    let garbage = flag("garbage")?;
    let count = uint("count")?.unwrap_or(1);
    let kinds = [status.is_some(), drop, garbage]
        .iter()
        .filter(|k| **k)
        .count();
    if kinds > 1 {
        return Err("give at most one of 'status', 'drop', 'garbage'".into());
    }
    if kinds == 0 && delay.is_none() {
        return Err("give one of 'status', 'delay_ms', 'drop', 'garbage'".into());
    }
    Ok(Fault {
        op,
        status,
        retry_after: uint("retry_after")?,
        delay,
        drop,
        garbage,
        count,
    })
}

#[derive(Default)]
pub struct Faults {
    list: Mutex<Vec<Fault>>,
}

impl Faults {
    pub fn add(&self, faults: Vec<Fault>) {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        list.extend(faults.into_iter().filter(|f| f.count > 0));
    }

    pub fn clear(&self) {
        self.list.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Takes one use of the first fault for `op`: its delay and what to do after it.
    pub fn take(&self, op: &str) -> Option<(Option<Duration>, FaultAction)> {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        let i = list.iter().position(|f| f.op == op)?;
        let fault = list[i].clone();
        list[i].count -= 1;
        if list[i].count == 0 {
            list.remove(i);
        }
        let action = if fault.drop {
            FaultAction::Drop
        } else if fault.garbage {
            FaultAction::Garbage
        } else if let Some(status) = fault.status {
            FaultAction::Status {
                status,
                retry_after: fault.retry_after,
            }
        } else {
            FaultAction::Proceed
        };
        Some((fault.delay, action))
    }
}

/// The error body an injected status carries: the service's own shape and codes for the key
/// API, Entra/IMDS's `{"error","error_description"}` for token endpoints.
pub fn fault_body(status: u16, token_endpoint: bool) -> Value {
    let (code, message) = match status {
        400 => ("BadParameter", "Injected fault: bad request."),
        401 => ("Unauthorized", "Injected fault: unauthorized."),
        403 => (
            "Forbidden",
            "Caller is not authorized to perform action on resource. (injected fault)",
        ),
        404 => ("NotFound", "Injected fault: not found."),
        409 => ("Conflict", "Injected fault: conflict."),
        429 => (
            "Throttled",
            "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
        ),
        500 => (
            "InternalServerError",
            "An internal server error occurred. (injected fault)",
        ),
        502..=504 => (
            "ServiceUnavailable",
            "The service is temporarily unavailable. (injected fault)",
        ),
        _ => ("InjectedFault", "Injected fault."),
    };
    if token_endpoint {
        return json!({"error": code.to_ascii_lowercase(), "error_description": message});
    }
    let mut error = json!({"code": code, "message": message});
    if status == 403 {
        error["innererror"] = json!({"code": "ForbiddenByRbac"});
    }
    json!({ "error": error })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_used_up_in_order() {
        let faults = Faults::default();
        faults.add(
            parse_faults(&json!([
                {"op": "sign", "status": 429, "retry_after": 1, "count": 2},
                {"op": "sign", "drop": true}
            ]))
            .unwrap(),
        );
        let status = FaultAction::Status {
            status: 429,
            retry_after: Some(1),
        };
        assert_eq!(faults.take("sign"), Some((None, status.clone())));
        assert_eq!(faults.take("decrypt"), None);
        assert_eq!(faults.take("sign"), Some((None, status)));
        assert_eq!(faults.take("sign"), Some((None, FaultAction::Drop)));
        assert_eq!(faults.take("sign"), None);
    }

    #[test]
    fn bad_fault_lists_are_explained() {
        assert!(
            parse_faults(&json!({"op": "sign"}))
                .unwrap_err()
                .contains("list")
        );
        assert!(
            parse_faults(&json!([{"op": "sign"}]))
                .unwrap_err()
                .contains("one of")
        );
        assert!(parse_faults(&json!([{"op": "sign", "drop": true, "garbage": true}])).is_err());
        assert!(parse_faults(&json!([{"op": "sign", "status": 42}])).is_err());
        assert!(
            parse_faults(&json!([{"op": "sign", "delay": 5}]))
                .unwrap_err()
                .contains("unknown")
        );
        assert!(
            parse_faults(&json!([{"status": 500}]))
                .unwrap_err()
                .contains("'op'")
        );
    }
}
