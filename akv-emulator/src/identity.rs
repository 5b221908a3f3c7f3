//! Token endpoints: IMDS, Azure Arc (challenge file flow) and App Service on the plain-HTTP
//! listener; Entra's `POST /<tenant>/oauth2/v2.0/token` on the HTTPS port. Wire formats as
//! azure-keys-api.md §2 describes them (IMDS values are strings; App Service has no
//! `expires_in`; Entra's are integers).

use serde_json::{Value, json};

use crate::auth::{Issued, SYSTEM_IDENTITY_CLIENT_ID, TENANT_ID, TokenIssuer, audience_of};
use crate::http::{Request, Response};
use crate::util::{now, uuid};

/// The api-versions that mark a request on the shared path as Azure Arc's.
pub const ARC_API_VERSIONS: &[&str] = &["2019-11-01", "2020-06-01"];
pub const APP_SERVICE_API_VERSION: &str = "2019-08-01";

fn imds_error(status: u16, error: &str, description: &str) -> Response {
    Response::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

fn metadata_ok(req: &Request) -> bool {
    req.header("metadata")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The user-assigned identity a request names (`client_id=..`, `object_id=..`, ...), if any.
type Selector = Option<(&'static str, String)>;

/// The identity selectors a request may carry; at most one is allowed.
fn selector(req: &Request, names: &[&'static str]) -> Result<Selector, Response> {
    let given: Vec<(&'static str, String)> = names
        .iter()
        .filter_map(|n| req.query(n).map(|v| (*n, v.to_string())))
        .collect();
    match given.len() {
        0 => Ok(None),
        1 => Ok(given.into_iter().next()),
        _ => Err(imds_error(
            400,
            "invalid_request",
            "Only one of client_id, object_id and msi_res_id may be specified.",
        )),
    }
}

fn resource(req: &Request) -> Result<String, Response> {
    match req.query("resource") {
        Some(r) if !r.trim().is_empty() => Ok(r.to_string()),
        _ => Err(imds_error(
            400,
            "invalid_request",
            "Required audience parameter not specified",
        )),
    }
}

fn client_id_for(sel: &Selector) -> String {
    match sel {
        Some(("client_id", id)) => id.clone(),
        _ => SYSTEM_IDENTITY_CLIENT_ID.to_string(),
    }
}

/// An IMDS-style token for the request's `resource` and identity selector: every value a
/// string, as IMDS and Azure Arc write them. Returns the body and the selector it honoured.
fn string_token(tokens: &TokenIssuer, req: &Request) -> Result<(Value, Selector), Response> {
    let resource = resource(req)?;
    let sel = selector(req, &["client_id", "object_id", "msi_res_id"])?;
    let t: Issued = tokens.issue(&resource, &client_id_for(&sel), TENANT_ID);
    let body = json!({
        "access_token": t.access_token,
        "refresh_token": "",
        "expires_in": t.expires_in.to_string(),
        "expires_on": t.expires_on.to_string(),
        "ext_expires_in": t.expires_in.to_string(),
        "not_before": t.not_before.to_string(),
        "resource": resource,
        "token_type": "Bearer",
    });
    Ok((body, sel))
}

/// `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=..` (IMDS).
pub fn imds(tokens: &TokenIssuer, req: &Request) -> Response {
    if !metadata_ok(req) {
        return imds_error(
            400,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    if req.query("api-version").is_none_or(str::is_empty) {
        return imds_error(
            400,
            "invalid_request",
            "Required api-version parameter not specified",
        );
    }
    match string_token(tokens, req) {
        Ok((mut body, sel)) => {
            body["client_id"] = json!(client_id_for(&sel));
            Response::json(200, &body)
        }
        Err(response) => response,
    }
}

/// The Azure Arc token request once its challenge secret was presented: no refresh token, the
/// requested identity echoed.
pub fn arc(tokens: &TokenIssuer, req: &Request) -> Response {
    match string_token(tokens, req) {
        Ok((mut body, sel)) => {
            body.as_object_mut().map(|o| o.remove("refresh_token"));
            if let Some((name, value)) = sel {
                body[name] = json!(value);
            }
            Response::json(200, &body)
        }
        Err(response) => response,
    }
}

/// `GET /msi/token?api-version=2019-08-01&resource=..` (App Service), header already checked.
pub fn app_service(tokens: &TokenIssuer, req: &Request) -> Response {
    if req.query("api-version") != Some(APP_SERVICE_API_VERSION) {
        return imds_error(400, "invalid_request", "api-version must be 2019-08-01");
    }
    let result = (|| {
        let resource = resource(req)?;
        let sel = selector(req, &["client_id", "object_id", "mi_res_id"])?;
        let client_id = client_id_for(&sel);
        let t = tokens.issue(&resource, &client_id, TENANT_ID);
        Ok(Response::json(
            200,
            &json!({
                "access_token": t.access_token,
                "expires_on": t.expires_on.to_string(),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": client_id,
            }),
        ))
    })();
    result.unwrap_or_else(|e| e)
}

/// `YYYY-MM-DD HH:MM:SSZ` for a Unix time (Entra puts one in its error bodies).
fn timestamp(t: i64) -> String {
    let (y, m, d, hh, mm, ss, _) = crate::util::civil(t);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}Z")
}

fn aad_error(status: u16, error: &str, code: u32, description: &str) -> Response {
    let trace = uuid();
    let correlation = uuid();
    let ts = timestamp(now());
    Response::json(
        status,
        &json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {ts}"
            ),
            "error_codes": [code],
            "timestamp": ts,
            "trace_id": trace,
            "correlation_id": correlation,
        }),
    )
}

/// Whether a string has the shape of a JWT whose header and payload are JSON objects.
fn well_formed_jwt(text: &str) -> bool {
    let parts: Vec<&str> = text.trim().split('.').collect();
    if parts.len() != 3 || parts[2].is_empty() {
        return false;
    }
    parts[..2].iter().all(|p| {
        crate::util::b64url_decode(p)
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|v| v.is_object())
    })
}

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `POST /<tenant>/oauth2/v2.0/token` (client credentials with a secret or an assertion).
pub fn entra(tokens: &TokenIssuer, tenant: &str, req: &Request) -> Response {
    let Some(form) = std::str::from_utf8(&req.body)
        .ok()
        .and_then(crate::util::parse_form)
    else {
        return aad_error(
            400,
            "invalid_request",
            900_144,
            "The request body must be application/x-www-form-urlencoded.",
        );
    };
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let missing = |name: &str| {
        aad_error(
            400,
            "invalid_request",
            900_144,
            &format!("The request body must contain the following parameter: '{name}'."),
        )
    };
    let Some(grant_type) = get("grant_type") else {
        return missing("grant_type");
    };
    if grant_type != "client_credentials" {
        return aad_error(
            400,
            "unsupported_grant_type",
            70_003,
            &format!("The app requested an unsupported grant type '{grant_type}'."),
        );
    }
    let Some(client_id) = get("client_id").filter(|c| !c.is_empty()) else {
        return missing("client_id");
    };
    let Some(scope) = get("scope") else {
        return missing("scope");
    };
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let audience = match scopes.as_slice() {
        [one] if one.ends_with("/.default") => audience_of(one),
        _ => {
            return aad_error(
                400,
                "invalid_scope",
                1_002_012,
                &format!(
                    "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                ),
            );
        }
    };
    match (
        get("client_secret"),
        get("client_assertion_type"),
        get("client_assertion"),
    ) {
        (Some(secret), _, _) if !secret.is_empty() => {}
        (_, Some(ASSERTION_TYPE), Some(assertion)) if well_formed_jwt(assertion) => {}
        (_, Some(ASSERTION_TYPE), Some(_)) => {
            return aad_error(
                400,
                "invalid_client",
                50_027,
                "JWT token is invalid or malformed.",
            );
        }
        (_, Some(other), _) if other != ASSERTION_TYPE => {
            return aad_error(
                400,
                "invalid_request",
                50_012,
                "Client assertion type is not supported.",
            );
        }
        _ => {
            return aad_error(
                401,
                "invalid_client",
                7_000_215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
            );
        }
    }
    let t = tokens.issue(&audience, client_id, tenant);
    Response::json(
        200,
        &json!({
            "token_type": "Bearer",
            "expires_in": t.expires_in,
            "ext_expires_in": t.expires_in,
            "access_token": t.access_token,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_civil_utc() {
        assert_eq!(timestamp(0), "1970-01-01 00:00:00Z");
        assert_eq!(timestamp(1_506_484_173), "2017-09-27 03:49:33Z");
    }

    #[test]
    fn jwt_shape_is_checked() {
        let h = crate::util::b64url(b"{\"alg\":\"RS256\"}");
        let p = crate::util::b64url(b"{\"sub\":\"x\"}");
        assert!(well_formed_jwt(&format!("{h}.{p}.c2ln")));
        assert!(!well_formed_jwt(&format!("{h}.{p}")));
        assert!(!well_formed_jwt("a.b.c"));
    }
}
