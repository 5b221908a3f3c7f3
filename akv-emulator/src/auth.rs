//! Access tokens: JWT-shaped (`header.payload.signature`, base64url), HMAC-SHA256 with a
//! per-run secret, bound to one audience, expiring after `--token-ttl`; and the 401 challenge
//! the services send when a request carries no valid token for them.

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use serde_json::{Value, json};

use crate::host::Service;
use crate::http::Response;
use crate::util::{b64url, b64url_decode, now};

/// The tenant every emulated token and challenge names.
pub const TENANT_ID: &str = "72f98800-e1a1-4c4e-9e6d-a1cc0dede001";

/// The client id of the emulated system-assigned managed identity.
pub const SYSTEM_IDENTITY_CLIENT_ID: &str = "5e29463d-0b3c-4a5e-8c4f-e7a1d0c0ffee";

pub struct TokenIssuer {
    secret: Vec<u8>,
    ttl: i64,
}

/// Token claims the emulator issues; `appid` is the caller's client id when it gave one.
pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    pub expires_on: i64,
    pub not_before: i64,
}

pub enum Rejection {
    Missing,
    Malformed,
    Expired,
    WrongAudience(String),
}

/// Normalises a resource or scope to the audience it names: no `/.default`, no trailing `/`.
pub fn audience_of(resource: &str) -> String {
    let r = resource.trim();
    let r = r.strip_suffix("/.default").unwrap_or(r);
    r.trim_end_matches('/').to_string()
}

impl TokenIssuer {
    pub fn new(ttl_secs: u64) -> TokenIssuer {
        TokenIssuer {
            secret: crate::util::random_bytes(32),
            ttl: ttl_secs.min(i64::MAX as u64 / 4) as i64,
        }
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        let key = PKey::hmac(&self.secret).expect("an HMAC key from 32 bytes");
        let mut signer = Signer::new(MessageDigest::sha256(), &key).expect("HMAC-SHA256");
        signer.update(data).expect("HMAC update");
        signer.sign_to_vec().expect("HMAC final")
    }

    pub fn issue(&self, audience: &str, client_id: &str, tenant: &str) -> Issued {
        let iat = now();
        let exp = iat + self.ttl;
        let header = json!({"typ": "JWT", "alg": "HS256", "kid": "akv-emulator"});
        let payload = json!({
            "aud": audience_of(audience),
            "iss": format!("https://sts.windows.net/{tenant}/"),
            "iat": iat,
            "nbf": iat,
            "exp": exp,
            "appid": client_id,
            "oid": client_id,
            "sub": client_id,
            "tid": tenant,
            "jti": crate::util::uuid(),
        });
        let signing_input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(payload.to_string().as_bytes())
        );
        let signature = b64url(&self.mac(signing_input.as_bytes()));
        Issued {
            access_token: format!("{signing_input}.{signature}"),
            expires_in: self.ttl,
            expires_on: exp,
            not_before: iat,
        }
    }

    /// Checks an `Authorization` header value for `audience`.
    pub fn check(&self, authorization: Option<&str>, audience: &str) -> Result<(), Rejection> {
        let Some(value) = authorization else {
            return Err(Rejection::Missing);
        };
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Err(Rejection::Missing),
        };
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Rejection::Malformed);
        };
        let expected = self.mac(format!("{header}.{payload}").as_bytes());
        let given = b64url_decode(signature).ok_or(Rejection::Malformed)?;
        if given.len() != expected.len() || !openssl::memcmp::eq(&given, &expected) {
            return Err(Rejection::Malformed);
        }
        let claims: Value = b64url_decode(payload)
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or(Rejection::Malformed)?;
        let exp = claims["exp"].as_i64().ok_or(Rejection::Malformed)?;
        if exp <= now() {
            return Err(Rejection::Expired);
        }
        let aud = claims["aud"].as_str().unwrap_or("");
        if audience_of(aud) != audience_of(audience) {
            return Err(Rejection::WrongAudience(aud.to_string()));
        }
        Ok(())
    }
}

/// The 401 a service answers to a request without a valid token for it. The challenge header
/// is the real services'; a vault's body says why (`AKV10000: Request is missing a Bearer or
/// PoP token.` as captured), a Managed HSM answers a request without a token with an empty
/// body (as captured) and a wrong audience with its own message. The other messages are as
/// close to the services' as is known.
pub fn challenge(service: &Service, why: &Rejection) -> Response {
    let audience = service.audience();
    let message = match why {
        Rejection::Missing if service.managed_hsm => None,
        Rejection::Missing => {
            Some("AKV10000: Request is missing a Bearer or PoP token.".to_string())
        }
        Rejection::Malformed => Some(
            "AKV10032: Invalid token: the signature or format could not be validated.".to_string(),
        ),
        Rejection::Expired => {
            Some("[TokenExpired] Error validating token: 'S2S12086'.".to_string())
        }
        Rejection::WrongAudience(found) if service.managed_hsm => Some(format!(
            "Found token with aud={found}, but expected aud={audience} (Activity ID: {})",
            crate::util::uuid()
        )),
        Rejection::WrongAudience(found) => Some(format!(
            "AKV10022: Invalid audience. Expected {audience}, found: {found}."
        )),
    };
    let header = format!(
        "Bearer authorization=\"https://{}/{}\", resource=\"{}\"",
        service.cloud.authority_host(),
        TENANT_ID,
        audience
    );
    let response = match message {
        Some(message) => Response::json(
            401,
            &json!({"error": {"code": "Unauthorized", "message": message}}),
        ),
        None => Response::new(401).header("Content-Type", "application/json; charset=utf-8"),
    };
    response.header("WWW-Authenticate", &header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_their_audience() {
        let issuer = TokenIssuer::new(60);
        let t = issuer.issue("https://vault.azure.net/.default", "c", TENANT_ID);
        let auth = format!("Bearer {}", t.access_token);
        assert!(issuer.check(Some(&auth), "https://vault.azure.net").is_ok());
        assert!(matches!(
            issuer.check(Some(&auth), "https://managedhsm.azure.net"),
            Err(Rejection::WrongAudience(_))
        ));
        let other = TokenIssuer::new(60);
        assert!(matches!(
            other.check(Some(&auth), "https://vault.azure.net"),
            Err(Rejection::Malformed)
        ));
        assert!(matches!(
            issuer.check(None, "https://vault.azure.net"),
            Err(Rejection::Missing)
        ));
    }

    #[test]
    fn a_zero_ttl_token_is_expired() {
        let issuer = TokenIssuer::new(0);
        let t = issuer.issue("https://vault.azure.net", "c", TENANT_ID);
        assert!(matches!(
            issuer.check(
                Some(&format!("Bearer {}", t.access_token)),
                "https://vault.azure.net"
            ),
            Err(Rejection::Expired)
        ));
    }
}
