//! The client: one per configuration, shared by threads, safe across `fork()`.

use crate::config::Config;
use crate::error::Error;
use crate::keyid::KeyId;
use crate::keys::{EncryptionAlgorithm, Key, SignatureAlgorithm};

/// `Send + Sync`; cheap to create (no network, no threads). Each operation is exactly one REST
/// call (plus a token request when the cached one is missing or due, and retries as configured).
pub struct Client {
    config: Config,
}

impl Client {
    /// No network happens here.
    pub fn new(config: Config) -> Result<Client, Error> {
        Ok(Client { config })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// `GET /keys/<name>[/<version>]`. The returned key's `id` is pinned to the version the
    /// service reported in `kid`.
    pub fn get_key(&self, id: &KeyId) -> Result<Key, Error> {
        let _ = id;
        todo!()
    }

    /// `POST .../sign`: `digest` must be `alg.digest_len()` bytes. RSA signatures come back as
    /// the service returns them; ES* signatures are raw `r‖s`.
    pub fn sign(&self, id: &KeyId, alg: SignatureAlgorithm, digest: &[u8]) -> Result<Vec<u8>, Error> {
        let _ = (id, alg, digest);
        todo!()
    }

    /// `POST .../verify`
    pub fn verify(
        &self,
        id: &KeyId,
        alg: SignatureAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<bool, Error> {
        let _ = (id, alg, digest, signature);
        todo!()
    }

    /// `POST .../encrypt`
    pub fn encrypt(&self, id: &KeyId, alg: EncryptionAlgorithm, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let _ = (id, alg, plaintext);
        todo!()
    }

    /// `POST .../decrypt`
    pub fn decrypt(&self, id: &KeyId, alg: EncryptionAlgorithm, ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
        let _ = (id, alg, ciphertext);
        todo!()
    }

    /// `POST .../wrapkey`
    pub fn wrap_key(&self, id: &KeyId, alg: EncryptionAlgorithm, key: &[u8]) -> Result<Vec<u8>, Error> {
        let _ = (id, alg, key);
        todo!()
    }

    /// `POST .../unwrapkey`
    pub fn unwrap_key(&self, id: &KeyId, alg: EncryptionAlgorithm, wrapped: &[u8]) -> Result<Vec<u8>, Error> {
        let _ = (id, alg, wrapped);
        todo!()
    }
}
