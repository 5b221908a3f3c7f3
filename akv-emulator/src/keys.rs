//! Keys as the services hold them: versions, key material, key_ops, attributes; creation and
//! import requests; the JSON bundles GET returns. The store maps (service type, vault name)
//! to vaults; a vault is reachable through any cloud's host name, and `kid`s name the host
//! that was asked.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::{Rsa, RsaPrivateKeyBuilder};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::util::{b64url, b64url_decode, now, random_hex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
    P256K,
}

impl Curve {
    pub fn from_name(name: &str) -> Option<Curve> {
        match name {
            "P-256" => Some(Curve::P256),
            "P-384" => Some(Curve::P384),
            "P-521" => Some(Curve::P521),
            "P-256K" => Some(Curve::P256K),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
            Curve::P256K => "P-256K",
        }
    }

    pub fn nid(self) -> Nid {
        match self {
            Curve::P256 => Nid::X9_62_PRIME256V1,
            Curve::P384 => Nid::SECP384R1,
            Curve::P521 => Nid::SECP521R1,
            Curve::P256K => Nid::SECP256K1,
        }
    }

    /// Bytes of one coordinate (and of r and s in a raw signature).
    pub fn field_len(self) -> usize {
        match self {
            Curve::P256 | Curve::P256K => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    pub fn group(self) -> EcGroup {
        EcGroup::from_curve_name(self.nid()).expect("a built-in curve")
    }
}

#[derive(Clone)]
pub enum Material {
    Rsa(PKey<Private>),
    Ec(PKey<Private>, Curve),
    Oct(Vec<u8>),
}

impl Material {
    pub fn family(&self) -> &'static str {
        match self {
            Material::Rsa(_) => "RSA",
            Material::Ec(..) => "EC",
            Material::Oct(_) => "oct",
        }
    }
}

pub const ALL_OPS: &[&str] = &[
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "wrapKey",
    "unwrapKey",
    "import",
    "export",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attributes {
    pub enabled: bool,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    pub created: i64,
    pub updated: i64,
    pub exportable: bool,
}

#[derive(Clone)]
pub struct KeyVersion {
    pub name: String,
    pub version: String,
    pub material: Material,
    /// HSM-protected: reported as `RSA-HSM`, `EC-HSM`, `oct-HSM`.
    pub hsm: bool,
    pub key_ops: Vec<String>,
    pub attributes: Attributes,
    pub tags: Option<Map<String, Value>>,
}

fn bn_b64(bn: &BigNumRef) -> String {
    b64url(&bn.to_vec())
}

impl KeyVersion {
    pub fn kty(&self) -> String {
        let family = self.material.family();
        if self.hsm {
            format!("{family}-HSM")
        } else {
            family.to_string()
        }
    }

    pub fn kid(&self, host: &str) -> String {
        format!("https://{host}/keys/{}/{}", self.name, self.version)
    }

    pub fn jwk(&self, host: &str) -> Value {
        let mut key = json!({
            "kid": self.kid(host),
            "kty": self.kty(),
            "key_ops": self.key_ops,
        });
        match &self.material {
            Material::Rsa(pkey) => {
                let rsa = pkey.rsa().expect("an RSA key");
                key["n"] = json!(bn_b64(rsa.n()));
                key["e"] = json!(bn_b64(rsa.e()));
            }
            Material::Ec(pkey, curve) => {
                let (x, y) = ec_coordinates(pkey, *curve);
                key["crv"] = json!(curve.name());
                key["x"] = json!(b64url(&x));
                key["y"] = json!(b64url(&y));
            }
            Material::Oct(_) => {}
        }
        key
    }

    pub fn attributes_json(&self) -> Value {
        let a = &self.attributes;
        let mut v = json!({
            "enabled": a.enabled,
            "created": a.created,
            "updated": a.updated,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
            "exportable": a.exportable,
        });
        if let Some(nbf) = a.nbf {
            v["nbf"] = json!(nbf);
        }
        if let Some(exp) = a.exp {
            v["exp"] = json!(exp);
        }
        v
    }

    /// The `KeyBundle` GET, create, import and update return.
    pub fn bundle(&self, host: &str) -> Value {
        let mut v = json!({"key": self.jwk(host), "attributes": self.attributes_json()});
        if let Some(tags) = &self.tags {
            v["tags"] = Value::Object(tags.clone());
        }
        v
    }

    /// The `KeyItem` a listing returns (`kid` versionless in a key list, versioned in a
    /// version list).
    pub fn item(&self, kid: String) -> Value {
        let mut v = json!({"kid": kid, "attributes": self.attributes_json()});
        if let Some(tags) = &self.tags {
            v["tags"] = Value::Object(tags.clone());
        }
        v
    }
}

pub fn ec_coordinates(pkey: &PKey<Private>, curve: Curve) -> (Vec<u8>, Vec<u8>) {
    let ec = pkey.ec_key().expect("an EC key");
    let mut ctx = BigNumContext::new().expect("a BN context");
    let mut x = BigNum::new().expect("a BN");
    let mut y = BigNum::new().expect("a BN");
    ec.public_key()
        .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)
        .expect("affine coordinates of a valid point");
    let len = curve.field_len() as i32;
    (
        x.to_vec_padded(len).expect("a coordinate fits its field"),
        y.to_vec_padded(len).expect("a coordinate fits its field"),
    )
}

pub struct KeyEntry {
    /// The name as first created (the service keeps its case; lookups ignore case).
    pub name: String,
    /// Oldest first; the last is the current version.
    pub versions: Vec<Arc<KeyVersion>>,
}

impl KeyEntry {
    pub fn latest(&self) -> Arc<KeyVersion> {
        self.versions.last().expect("a key has a version").clone()
    }

    pub fn version(&self, version: &str) -> Option<Arc<KeyVersion>> {
        self.versions
            .iter()
            .find(|v| v.version.eq_ignore_ascii_case(version))
            .cloned()
    }
}

pub struct DeletedKey {
    pub entry: KeyEntry,
    pub deleted_date: i64,
}

#[derive(Default)]
pub struct Vault {
    pub keys: BTreeMap<String, KeyEntry>,
    pub deleted: BTreeMap<String, DeletedKey>,
}

#[derive(Default)]
pub struct Store {
    vaults: HashMap<(bool, String), Vault>,
}

impl Store {
    pub fn vault(&mut self, managed_hsm: bool, name: &str) -> &mut Vault {
        self.vaults
            .entry((managed_hsm, name.to_ascii_lowercase()))
            .or_default()
    }
}

/// What a create or import request asks for, before it gets a version.
pub struct NewKey {
    pub material: Material,
    pub hsm: bool,
    pub key_ops: Vec<String>,
    pub attributes: Attributes,
    pub tags: Option<Map<String, Value>>,
}

impl NewKey {
    pub fn into_version(self, name: &str) -> KeyVersion {
        KeyVersion {
            name: name.to_string(),
            version: random_hex(16),
            material: self.material,
            hsm: self.hsm,
            key_ops: self.key_ops,
            attributes: self.attributes,
            tags: self.tags,
        }
    }
}

fn default_ops(material: &Material) -> Vec<String> {
    let ops: &[&str] = match material {
        // Every operation but import and export.
        Material::Rsa(_) => &ALL_OPS[..6],
        Material::Ec(..) => &["sign", "verify"],
        Material::Oct(_) => &["encrypt", "decrypt", "wrapKey", "unwrapKey"],
    };
    ops.iter().map(|s| s.to_string()).collect()
}

pub fn parse_key_ops(value: &Value) -> Result<Vec<String>, ApiError> {
    let list = value
        .as_array()
        .ok_or_else(|| ApiError::bad("Property key_ops must be an array of strings."))?;
    list.iter()
        .map(|op| match op.as_str() {
            Some(op) if ALL_OPS.contains(&op) => Ok(op.to_string()),
            _ => Err(ApiError::bad(format!(
                "Invalid key operation {op} in key_ops: expected one of {}.",
                ALL_OPS.join(", ")
            ))),
        })
        .collect()
}

fn int_field(obj: &Value, field: &str) -> Result<Option<i64>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            ApiError::bad(format!(
                "Property attributes.{field} must be an integer (seconds since 1970)."
            ))
        }),
    }
}

/// Applies a request's `attributes` object to `attrs` (create, import and PATCH share it).
pub fn apply_attributes(attrs: &mut Attributes, value: Option<&Value>) -> Result<(), ApiError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(());
    };
    if !value.is_object() {
        return Err(ApiError::bad("Property attributes must be an object."));
    }
    match value.get("enabled") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => attrs.enabled = *b,
        Some(_) => {
            return Err(ApiError::bad(
                "Property attributes.enabled must be a boolean.",
            ));
        }
    }
    match value.get("exportable") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => attrs.exportable = *b,
        Some(_) => {
            return Err(ApiError::bad(
                "Property attributes.exportable must be a boolean.",
            ));
        }
    }
    if let Some(nbf) = int_field(value, "nbf")? {
        attrs.nbf = Some(nbf);
    }
    if let Some(exp) = int_field(value, "exp")? {
        attrs.exp = Some(exp);
    }
    Ok(())
}

pub fn parse_tags(value: Option<&Value>) -> Result<Option<Map<String, Value>>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) if map.values().all(Value::is_string) => Ok(Some(map.clone())),
        Some(_) => Err(ApiError::bad(
            "Property tags must be an object of string values.",
        )),
    }
}

fn fresh_attributes() -> Attributes {
    let t = now();
    Attributes {
        enabled: true,
        nbf: None,
        exp: None,
        created: t,
        updated: t,
        exportable: false,
    }
}

/// Which key types a service takes (vaults: software and HSM RSA/EC; Managed HSM: HSM only,
/// AES included). Returns (family, hsm).
fn check_kty(kty: &str, managed_hsm: bool, import: bool) -> Result<(&'static str, bool), ApiError> {
    let (family, hsm) = match kty {
        "RSA" => ("RSA", false),
        "RSA-HSM" => ("RSA", true),
        "EC" => ("EC", false),
        "EC-HSM" => ("EC", true),
        "oct" => ("oct", false),
        "oct-HSM" => ("oct", true),
        _ => {
            return Err(ApiError::bad(format!(
                "Invalid value {kty} for property kty: expected one of RSA, RSA-HSM, EC, EC-HSM, oct-HSM."
            )));
        }
    };
    // A Managed HSM creates only HSM types; an import lands in the HSM whatever it says.
    let allowed = if managed_hsm {
        hsm || import
    } else {
        family != "oct"
    };
    if !allowed {
        let service = if managed_hsm {
            "Managed HSM"
        } else {
            "key vault"
        };
        return Err(ApiError::bad(format!(
            "Key type {kty} is not supported by this {service}."
        )));
    }
    Ok((family, hsm))
}

fn rsa_size_ok(bits: u32) -> Result<(), ApiError> {
    if [2048, 3072, 4096].contains(&bits) {
        Ok(())
    } else {
        Err(ApiError::bad(format!(
            "Invalid RSA key size {bits}: supported sizes are 2048, 3072 and 4096."
        )))
    }
}

/// Parses a `POST /keys/<name>/create` body.
pub fn create_request(managed_hsm: bool, body: &Value) -> Result<NewKey, ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad("The request body must be a JSON object."));
    }
    let kty = body
        .get("kty")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad("The request is missing the required property kty."))?;
    let (family, hsm) = check_kty(kty, managed_hsm, false)?;
    let key_size = match body.get("key_size") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|n| *n <= u32::MAX as u64)
                .ok_or_else(|| ApiError::bad("Property key_size must be a positive integer."))?
                as u32,
        ),
    };
    let material = match family {
        "RSA" => {
            let bits = key_size.unwrap_or(2048);
            rsa_size_ok(bits)?;
            let exponent = match body.get("public_exponent") {
                None | Some(Value::Null) => 65537,
                Some(v) => v
                    .as_u64()
                    .filter(|e| *e >= 3 && e % 2 == 1 && *e <= u32::MAX as u64)
                    .ok_or_else(|| {
                        ApiError::bad(
                            "Property public_exponent must be an odd integer of at least 3.",
                        )
                    })? as u32,
            };
            let e = BigNum::from_u32(exponent).expect("a BN");
            let rsa = Rsa::generate_with_e(bits, &e)
                .map_err(|e| ApiError::bad(format!("RSA key generation failed: {e}")))?;
            Material::Rsa(PKey::from_rsa(rsa).expect("an RSA PKey"))
        }
        "EC" => {
            let crv = match body.get("crv") {
                None | Some(Value::Null) => "P-256",
                Some(v) => v.as_str().unwrap_or(""),
            };
            let curve = Curve::from_name(crv).ok_or_else(|| {
                ApiError::bad(format!(
                    "Invalid value {crv} for property crv: expected one of P-256, P-384, P-521, P-256K."
                ))
            })?;
            if key_size.is_some_and(|s| s as usize != curve_bits(curve)) {
                return Err(ApiError::bad("Property key_size does not match the curve."));
            }
            let ec = EcKey::generate(&curve.group()).expect("EC key generation");
            Material::Ec(PKey::from_ec_key(ec).expect("an EC PKey"), curve)
        }
        _ => {
            let bits = key_size.unwrap_or(256);
            if ![128, 192, 256].contains(&bits) {
                return Err(ApiError::bad(format!(
                    "Invalid AES key size {bits}: supported sizes are 128, 192 and 256."
                )));
            }
            Material::Oct(crate::util::random_bytes(bits as usize / 8))
        }
    };
    finish_new_key(material, hsm, body)
}

fn curve_bits(curve: Curve) -> usize {
    match curve {
        Curve::P256 | Curve::P256K => 256,
        Curve::P384 => 384,
        Curve::P521 => 521,
    }
}

fn finish_new_key(material: Material, hsm: bool, body: &Value) -> Result<NewKey, ApiError> {
    let key_ops = match body.get("key_ops") {
        None | Some(Value::Null) => default_ops(&material),
        Some(v) => parse_key_ops(v)?,
    };
    let mut attributes = fresh_attributes();
    apply_attributes(&mut attributes, body.get("attributes"))?;
    let tags = parse_tags(body.get("tags"))?;
    Ok(NewKey {
        material,
        hsm,
        key_ops,
        attributes,
        tags,
    })
}

fn jwk_bn(jwk: &Value, field: &str) -> Result<BigNum, ApiError> {
    let text = jwk.get(field).and_then(Value::as_str).ok_or_else(|| {
        ApiError::bad(format!("The JSON web key is missing the property {field}."))
    })?;
    let bytes = b64url_decode(text)
        .ok_or_else(|| ApiError::bad(format!("Property key.{field} is not valid base64url.")))?;
    BigNum::from_slice(&bytes)
        .map_err(|_| ApiError::bad(format!("Property key.{field} is invalid.")))
}

/// Parses a `PUT /keys/<name>` (import) body: `{"key": JWK with private parts, "hsm", ...}`.
pub fn import_request(managed_hsm: bool, body: &Value) -> Result<NewKey, ApiError> {
    let jwk = body
        .get("key")
        .filter(|k| k.is_object())
        .ok_or_else(|| ApiError::bad("The request is missing the required property key."))?;
    let kty = jwk
        .get("kty")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad("The JSON web key is missing the property kty."))?;
    if jwk.get("key_hsm").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::bad(
            "BYOK import (key_hsm) is not supported by the emulator.",
        ));
    }
    let hsm_flag = match body.get("hsm") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::bad("Property hsm must be a boolean.")),
    };
    let (family, kty_hsm) = check_kty(kty, managed_hsm, true)?;
    let hsm = managed_hsm || kty_hsm || hsm_flag;
    let material = match family {
        "RSA" => {
            let (n, e, d) = (jwk_bn(jwk, "n")?, jwk_bn(jwk, "e")?, jwk_bn(jwk, "d")?);
            let (p, q) = (jwk_bn(jwk, "p")?, jwk_bn(jwk, "q")?);
            let (dp, dq, qi) = (jwk_bn(jwk, "dp")?, jwk_bn(jwk, "dq")?, jwk_bn(jwk, "qi")?);
            // Sizes first: the consistency check below tests p and q for primality, which
            // takes hours on the multi-megabit numbers a 1 MiB body can carry.
            rsa_size_ok(n.num_bytes() as u32 * 8)?;
            for (field, value) in [
                ("e", &e),
                ("d", &d),
                ("p", &p),
                ("q", &q),
                ("dp", &dp),
                ("dq", &dq),
                ("qi", &qi),
            ] {
                if value.num_bits() > n.num_bits() {
                    return Err(ApiError::bad(format!(
                        "The RSA key is invalid: key.{field} is longer than the modulus."
                    )));
                }
            }
            let mut product = BigNum::new().expect("a BN");
            let mut ctx = BigNumContext::new().expect("a BN context");
            if product.checked_mul(&p, &q, &mut ctx).is_err() || product != n {
                return Err(ApiError::bad(
                    "The RSA key is invalid: key.p times key.q is not key.n.",
                ));
            }
            let invalid = |_| ApiError::bad("The RSA key components are invalid.");
            let rsa = RsaPrivateKeyBuilder::new(n, e, d)
                .map_err(invalid)?
                .set_factors(p, q)
                .map_err(invalid)?
                .set_crt_params(dp, dq, qi)
                .map_err(invalid)?
                .build();
            if !rsa.check_key().unwrap_or(false) {
                return Err(ApiError::bad(
                    "The RSA key is invalid: its private and public parts do not match.",
                ));
            }
            Material::Rsa(PKey::from_rsa(rsa).expect("an RSA PKey"))
        }
        "EC" => {
            let crv = jwk.get("crv").and_then(Value::as_str).unwrap_or("");
            let curve = Curve::from_name(crv)
                .ok_or_else(|| ApiError::bad(format!("Invalid value {crv} for property crv.")))?;
            let group = curve.group();
            let d = jwk_bn(jwk, "d")?;
            let x = jwk_bn(jwk, "x")?;
            let y = jwk_bn(jwk, "y")?;
            let mut ctx = BigNumContext::new().expect("a BN context");
            let mut point = EcPoint::new(&group).expect("an EC point");
            point
                .set_affine_coordinates_gfp(&group, &x, &y, &mut ctx)
                .map_err(|_| ApiError::bad("The EC public point is not on the curve."))?;
            let ec = EcKey::from_private_components(&group, &d, &point)
                .map_err(|_| ApiError::bad("The EC private key is invalid."))?;
            ec.check_key()
                .map_err(|_| ApiError::bad("The EC key is invalid: d does not match x and y."))?;
            Material::Ec(PKey::from_ec_key(ec).expect("an EC PKey"), curve)
        }
        _ => {
            let k = jwk
                .get("k")
                .and_then(Value::as_str)
                .and_then(b64url_decode)
                .ok_or_else(|| {
                    ApiError::bad("The JSON web key is missing a base64url property k.")
                })?;
            if ![16, 24, 32].contains(&k.len()) {
                return Err(ApiError::bad(format!(
                    "Invalid AES key length {} bits: supported sizes are 128, 192 and 256.",
                    k.len() * 8
                )));
            }
            Material::Oct(k)
        }
    };
    let mut new_key = finish_new_key(material, hsm, body)?;
    if let Some(ops) = jwk.get("key_ops").filter(|v| !v.is_null()) {
        new_key.key_ops = parse_key_ops(ops)?;
    }
    Ok(new_key)
}
