//! A small, blocking client for keys in Azure Key Vault and Azure Managed HSM.
//!
//! The data path: a key URI is parsed into a [`KeyId`] (validated, no network), a [`Client`]
//! built from a [`Config`] fetches the key once ([`Client::get_key`], which pins the version)
//! and then sends exactly one REST call per private-key operation ([`Client::sign`],
//! [`Client::decrypt`], ...). Tokens come from the configured Azure credential and are cached
//! per audience; connections are pooled and kept alive, and a forked child never touches its
//! parent's connections.
//!
//! No OpenSSL, no FFI: this crate is usable on its own.

pub mod config;
pub mod credential;
pub mod error;
pub mod http;
pub mod keyid;
pub mod keys;
pub mod logging;
pub mod token;

mod client;
mod fork;

pub use client::Client;
pub use config::{Config, CredentialKind, LogLevel, Secret};
pub use error::Error;
pub use keyid::{Cloud, KeyId, ServiceKind};
pub use keys::{
    Curve, EncryptionAlgorithm, Key, KeyAttributes, KeyOperation, KeyType, PublicKey,
    SignatureAlgorithm,
};
