//! Server side of SIP digest authentication: RFC 3261 §22, RFC 7616 (HTTP Digest with
//! SHA-256), RFC 8760 (SIP digest algorithms).
//!
//! No I/O and no dependency on the SIP message model: it works on header value strings.
//!
//! Layout (one idea per file):
//! - [`algorithm`]: the accepted algorithms and their hash function.
//! - `auth_params`: lexer for `scheme name=value, ...` header values.
//! - [`credentials`]: parsing `Authorization` / `Proxy-Authorization` Digest credentials.
//! - [`response`]: HA1 and the expected `response`, and its constant-time verification.
//! - [`challenge`]: building `WWW-Authenticate` / `Proxy-Authenticate` values.
//! - [`nonce`]: issuing and checking stateless, client-bound, expiring nonces.
//! - `hex_encode`: lower-case hex encoding of digests and nonces.
//! - `replay`: the bounded, sharded map of nonce counts behind replay protection.
//!
//! A registrar's flow: no or non-Digest credentials → [`challenge`] with a nonce from
//! [`NonceManager::issue`]; otherwise [`parse_credentials`], check the realm, the uri and
//! [`NonceManager::verify`] (Stale → challenge with `stale=true`), look up HA1,
//! [`verify_response`], then [`NonceManager::record`] and act on that result.
//! ([`NonceManager::check`] does either step in one call, decoding the nonce each time.)

#![warn(missing_docs)]

pub mod algorithm;
mod auth_params;
pub mod challenge;
pub mod credentials;
mod hex_encode;
pub mod nonce;
mod replay;
pub mod response;

pub use algorithm::Algorithm;
pub use challenge::challenge;
pub use credentials::{Credentials, CredentialsError, parse_credentials};
pub use nonce::{NonceCheck, NonceManager, VerifiedNonce};
pub use response::{expected_response, ha1, userhash, verify_response};
