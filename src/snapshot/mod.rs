//! Signed snapshots: the envelope, its Ed25519 signature, the keyring, and the
//! last-known-good [`Store`] every edge runs.
//!
//! Envelope: `{"format": "vexil-snapshot/2", "key_id", "payload": base64, "signature":
//! base64}`. The signature is Ed25519 over `"vexil-snapshot/2\n" || payload`, the exact
//! payload bytes: a binary, compiled snapshot (`engine::wire`, documented in
//! `docs/snapshot-format.md`). A snapshot is accepted only if the format
//! is known, the key id is in the keyring (configured, never taken from the snapshot's
//! source), the signature verifies, the payload parses and validates, the environment
//! matches, the version is newer than the loaded one, and it has not expired. Any
//! rejection leaves the previously loaded snapshot serving.
//!
//! Pure: no I/O and no clock; times are epoch milliseconds passed in.

pub(crate) mod base64;
mod keys;

pub use keys::{KeyError, Keyring, PrivateKeyFile};

use crate::engine::wire::{DecodeError, DecodeErrorKind};
use crate::engine::Snapshot;
use crate::jsontext;
use ed25519_dalek::{Signer, SigningKey};
use std::fmt;
use std::sync::Arc;

/// The envelope format this engine reads and writes.
pub const FORMAT: &str = "vexil-snapshot/2";
/// The earlier envelope format (JSON payloads), refused with a message saying so.
pub const FORMAT_1: &str = "vexil-snapshot/1";
/// Default limit on an envelope's size in bytes.
pub const DEFAULT_MAX_BYTES: usize = 16 * 1024 * 1024;

/// A signed snapshot envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Always [`FORMAT`].
    pub format: String,
    /// Id of the signing key in the verifier's keyring.
    pub key_id: String,
    /// Base64 (standard) of the payload bytes.
    pub payload: String,
    /// Base64 (standard) of the Ed25519 signature.
    pub signature: String,
}

impl Envelope {
    /// The envelope as compact JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(self.payload.len() + self.signature.len() + 96);
        for (i, (name, value)) in [
            ("format", &self.format),
            ("key_id", &self.key_id),
            ("payload", &self.payload),
            ("signature", &self.signature),
        ]
        .into_iter()
        .enumerate()
        {
            out.push(if i == 0 { '{' } else { ',' });
            jsontext::push_string(&mut out, name);
            out.push(':');
            jsontext::push_string(&mut out, value);
        }
        out.push('}');
        out
    }

    /// Reads an envelope: a JSON object with the four string fields (other fields
    /// are ignored); `None` when it is not one.
    pub fn parse(bytes: &[u8]) -> Result<Envelope, String> {
        let (mut format, mut key_id, mut payload, mut signature) = (None, None, None, None);
        let mut problem = None;
        let read = jsontext::read_object(bytes, |key, value| {
            let slot = match key {
                "format" => &mut format,
                "key_id" => &mut key_id,
                "payload" => &mut payload,
                "signature" => &mut signature,
                _ => return,
            };
            match value {
                _ if slot.is_some() => problem = Some(["duplicate field `", key, "`"].concat()),
                Some(text) => *slot = Some(text),
                None => problem = Some(["`", key, "` must be a string"].concat()),
            }
        });
        if read.is_none() {
            return Err("not a JSON object".into());
        }
        if let Some(problem) = problem {
            return Err(problem);
        }
        let missing = |name: &str| ["missing field `", name, "`"].concat();
        Ok(Envelope {
            format: format.ok_or_else(|| missing("format"))?,
            key_id: key_id.ok_or_else(|| missing("key_id"))?,
            payload: payload.ok_or_else(|| missing("payload"))?,
            signature: signature.ok_or_else(|| missing("signature"))?,
        })
    }
}

/// `n` in decimal. The rejection messages here are joined from pieces rather than
/// `format!`ted: the formatting machinery is a kilobyte of the wasm module.
fn number(n: u64) -> String {
    let mut out = String::new();
    jsontext::push_u64(&mut out, n);
    out
}

/// What a signature covers before the payload: `"vexil-snapshot/2\n"`.
fn signed_prefix(capacity: usize) -> Vec<u8> {
    let mut message = Vec::with_capacity(FORMAT.len() + 1 + capacity);
    message.extend_from_slice(FORMAT.as_bytes());
    message.push(b'\n');
    message
}

/// The bytes a signature covers: `"vexil-snapshot/2\n" || payload`.
fn signed_bytes(payload: &[u8]) -> Vec<u8> {
    let mut message = signed_prefix(payload.len());
    message.extend_from_slice(payload);
    message
}

/// Signs payload bytes into an envelope.
pub fn sign(payload: &[u8], key_id: &str, key: &SigningKey) -> Envelope {
    let signature = key.sign(&signed_bytes(payload));
    Envelope {
        format: FORMAT.to_string(),
        key_id: key_id.to_string(),
        payload: base64::encode(payload),
        signature: base64::encode(&signature.to_bytes()),
    }
}

/// Why a snapshot was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectCode {
    /// Not an envelope: not JSON, fields missing, unknown format, bad base64.
    BadFormat,
    /// Signed with a key id the keyring does not have.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// The payload is not a flags payload this engine can read.
    BadPayload,
    /// The payload's flags do not validate.
    InvalidFlags,
    /// Published for another environment.
    WrongEnvironment,
    /// Not newer than the loaded snapshot.
    VersionRollback,
    /// Already past its expiry.
    Expired,
    /// Larger than the size limit.
    TooLarge,
}

impl RejectCode {
    /// The code as reported (`BAD_SIGNATURE`).
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::BadFormat => "BAD_FORMAT",
            RejectCode::UnknownKey => "UNKNOWN_KEY",
            RejectCode::BadSignature => "BAD_SIGNATURE",
            RejectCode::BadPayload => "BAD_PAYLOAD",
            RejectCode::InvalidFlags => "INVALID_FLAGS",
            RejectCode::WrongEnvironment => "WRONG_ENVIRONMENT",
            RejectCode::VersionRollback => "VERSION_ROLLBACK",
            RejectCode::Expired => "EXPIRED",
            RejectCode::TooLarge => "TOO_LARGE",
        }
    }
}

impl fmt::Display for RejectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected snapshot: a code for programs and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Rejection {
    /// What kind of rejection.
    pub code: RejectCode,
    /// Exactly what is wrong.
    pub message: String,
}

fn reject(code: RejectCode, message: impl Into<String>) -> Rejection {
    Rejection {
        code,
        message: message.into(),
    }
}

/// A verified, compiled snapshot with its envelope facts.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The compiled flags.
    pub snapshot: Arc<Snapshot>,
    /// Id of the key that signed it.
    pub key_id: String,
    /// Its environment.
    pub environment: String,
    /// Its version.
    pub version: u64,
}

/// Checks size, format, key and signature, then parses and compiles the payload.
/// Environment, version and expiry are the [`Store`]'s to judge.
pub fn verify(envelope: &[u8], keyring: &Keyring, max_bytes: usize) -> Result<Verified, Rejection> {
    if envelope.len() > max_bytes {
        return Err(reject(
            RejectCode::TooLarge,
            [
                "snapshot is ",
                &number(envelope.len() as u64),
                " bytes; the limit is ",
                &number(max_bytes as u64),
            ]
            .concat(),
        ));
    }
    let env = Envelope::parse(envelope).map_err(|e| {
        reject(
            RejectCode::BadFormat,
            ["not a snapshot envelope: ", &e].concat(),
        )
    })?;
    if env.format == FORMAT_1 {
        return Err(reject(
            RejectCode::BadFormat,
            [
                "envelope format `",
                FORMAT_1,
                "` (JSON payloads) is no longer read: this engine reads `",
                FORMAT,
                "`; re-sign with a current origin or `vexil snapshot build`",
            ]
            .concat(),
        ));
    }
    if env.format != FORMAT {
        return Err(reject(
            RejectCode::BadFormat,
            [
                "unknown envelope format `",
                &env.format,
                "` (this engine reads `",
                FORMAT,
                "`)",
            ]
            .concat(),
        ));
    }
    let key = keyring.get(&env.key_id).ok_or_else(|| {
        reject(
            RejectCode::UnknownKey,
            [
                "signed with key `",
                &env.key_id,
                "`, which is not in the keyring (",
                &keyring.ids().collect::<Vec<_>>().join(", "),
                ")",
            ]
            .concat(),
        )
    })?;
    // The payload is decoded in place after the signed prefix: verified without a copy.
    let mut message = signed_prefix(env.payload.len() / 4 * 3);
    let prefix = message.len();
    base64::decode_after(env.payload.as_bytes(), &mut message).ok_or_else(|| {
        reject(
            RejectCode::BadFormat,
            "payload is not base64 (padded, standard alphabet)",
        )
    })?;
    let signature = base64::decode(env.signature.as_bytes()).ok_or_else(|| {
        reject(
            RejectCode::BadFormat,
            "signature is not base64 (padded, standard alphabet)",
        )
    })?;
    let signature = ed25519_dalek::Signature::from_slice(&signature).map_err(|_| {
        reject(
            RejectCode::BadFormat,
            [
                "signature is ",
                &number(signature.len() as u64),
                " bytes; Ed25519 signatures are 64",
            ]
            .concat(),
        )
    })?;
    key.verify_strict(&message, &signature).map_err(|_| {
        reject(
            RejectCode::BadSignature,
            [
                "signature does not verify with key `",
                &env.key_id,
                "`: the snapshot was modified or signed with another key",
            ]
            .concat(),
        )
    })?;
    let snapshot = Snapshot::decode(&message[prefix..]).map_err(|e: DecodeError| match e.kind {
        DecodeErrorKind::Invalid => reject(RejectCode::InvalidFlags, e.message()),
        DecodeErrorKind::UnknownFormat | DecodeErrorKind::Malformed => {
            reject(RejectCode::BadPayload, e.message())
        }
    })?;
    let environment = snapshot
        .meta
        .environment
        .clone()
        .ok_or_else(|| reject(RejectCode::BadPayload, "payload has no `environment`"))?;
    let version = snapshot
        .meta
        .version
        .ok_or_else(|| reject(RejectCode::BadPayload, "payload has no `version`"))?;
    Ok(Verified {
        snapshot: Arc::new(snapshot),
        key_id: env.key_id,
        environment,
        version,
    })
}

/// Decodes standard padded base64 (an envelope's `payload` or `signature`).
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    base64::decode(text.as_bytes())
}

/// The compiled snapshot inside an envelope this process signed itself (the origin
/// reading back what it stored), without checking the signature again.
pub fn open_signed(envelope: &[u8]) -> Result<Snapshot, String> {
    let env = Envelope::parse(envelope)?;
    if env.format != FORMAT {
        return Err(["envelope format `", &env.format, "`, not `", FORMAT, "`"].concat());
    }
    let payload = base64::decode(env.payload.as_bytes()).ok_or("payload is not base64")?;
    Snapshot::decode(&payload).map_err(|e| e.message())
}

/// What to serve once the loaded snapshot is past its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StalePolicy {
    /// Keep serving the stale snapshot (and report it stale).
    #[default]
    ServeStale,
    /// Serve callers' defaults until a fresh snapshot arrives.
    ServeDefaults,
}

/// Facts about a snapshot that was just loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadInfo {
    /// Its version.
    pub version: u64,
    /// Id of the key that signed it.
    pub key_id: String,
    /// How many flags it has.
    pub flags: usize,
    /// Issue time, epoch ms.
    pub issued_at_ms: Option<i64>,
    /// Expiry, epoch ms.
    pub expires_at_ms: Option<i64>,
}

/// An edge's snapshot state: keyring, environment, and the last known good snapshot.
#[derive(Debug)]
pub struct Store {
    keyring: Keyring,
    environment: String,
    policy: StalePolicy,
    max_bytes: usize,
    current: Option<Verified>,
    generation: u64,
}

impl Store {
    /// A store that accepts snapshots of `environment` signed by keys in `keyring`.
    pub fn new(keyring: Keyring, environment: String, policy: StalePolicy) -> Store {
        Store {
            keyring,
            environment,
            policy,
            max_bytes: DEFAULT_MAX_BYTES,
            current: None,
            generation: 0,
        }
    }

    /// Sets the envelope size limit in bytes.
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Store {
        self.max_bytes = max_bytes;
        self
    }

    /// Verifies and loads an envelope at `now_ms`. On any rejection the previously
    /// loaded snapshot stays in place.
    pub fn load(&mut self, envelope: &[u8], now_ms: i64) -> Result<LoadInfo, Rejection> {
        let verified = verify(envelope, &self.keyring, self.max_bytes)?;
        if verified.environment != self.environment {
            return Err(reject(
                RejectCode::WrongEnvironment,
                [
                    "snapshot is for environment `",
                    &verified.environment,
                    "`, this engine serves `",
                    &self.environment,
                    "`",
                ]
                .concat(),
            ));
        }
        if let Some(current) = self.current.as_ref() {
            if verified.version <= current.version {
                return Err(reject(
                    RejectCode::VersionRollback,
                    [
                        "version ",
                        &number(verified.version),
                        " is not newer than the loaded version ",
                        &number(current.version),
                    ]
                    .concat(),
                ));
            }
        }
        let meta = &verified.snapshot.meta;
        if let Some(expires) = meta.expires_at_ms {
            if now_ms > expires {
                return Err(reject(
                    RejectCode::Expired,
                    [
                        "snapshot version ",
                        &number(verified.version),
                        " expired at ",
                        &crate::engine::time::format_rfc3339_ms(expires),
                    ]
                    .concat(),
                ));
            }
        }
        let info = LoadInfo {
            version: verified.version,
            key_id: verified.key_id.clone(),
            flags: verified.snapshot.flags().len(),
            issued_at_ms: meta.issued_at_ms,
            expires_at_ms: meta.expires_at_ms,
        };
        self.current = Some(verified);
        self.generation += 1;
        Ok(info)
    }

    /// The loaded snapshot, if any.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.current.as_ref().map(|v| &*v.snapshot)
    }

    /// The loaded snapshot, shared (the metrics registry keeps it).
    pub fn shared(&self) -> Option<&Arc<Snapshot>> {
        self.current.as_ref().map(|v| &v.snapshot)
    }

    /// The loaded snapshot's version.
    pub fn version(&self) -> Option<u64> {
        self.current.as_ref().map(|v| v.version)
    }

    /// Id of the key that signed the loaded snapshot.
    pub fn key_id(&self) -> Option<&str> {
        self.current.as_ref().map(|v| v.key_id.as_str())
    }

    /// Increments on every successful load, so adapters can refresh caches.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The environment this store serves.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The stale policy.
    pub fn policy(&self) -> StalePolicy {
        self.policy
    }

    /// Whether the loaded snapshot is past its expiry at `now_ms`.
    pub fn is_stale(&self, now_ms: i64) -> bool {
        self.current
            .as_ref()
            .and_then(|v| v.snapshot.meta.expires_at_ms)
            .is_some_and(|expires| now_ms > expires)
    }

    /// Whether evaluations should return callers' defaults (stale under
    /// [`StalePolicy::ServeDefaults`]).
    pub fn serving_defaults(&self, now_ms: i64) -> bool {
        self.policy == StalePolicy::ServeDefaults && self.is_stale(now_ms)
    }

    /// Replaces the keyring (key rotation). The loaded snapshot keeps serving.
    pub fn set_keyring(&mut self, keyring: Keyring) {
        self.keyring = keyring;
    }

    /// The keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }
}
