//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): the signed content is
//! `{msg_id}.{timestamp}.{body}`, signed with HMAC-SHA256 under the base64-decoded part of the
//! secret after `whsec_`, sent as `webhook-signature: v1,<base64>` next to `webhook-id` and
//! `webhook-timestamp` (Unix seconds).

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a generated secret (the spec asks for 24 to 64).
const SECRET_BYTES: usize = 32;

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    #[error("a webhook secret must look like whsec_<base64>")]
    BadSecret,
    #[error("no signature matches")]
    NoMatch,
}

/// A fresh `whsec_` secret.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

fn key(secret: &str) -> Result<Vec<u8>, SigningError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| SigningError::BadSecret)?;
    if key.is_empty() {
        return Err(SigningError::BadSecret);
    }
    Ok(key)
}

fn mac(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` header value: `v1,<base64 HMAC-SHA256>`.
pub fn sign(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SigningError> {
    let key = key(secret)?;
    let tag = mac(&key, msg_id, timestamp, body).finalize().into_bytes();
    Ok(format!("v1,{}", STANDARD.encode(tag)))
}

/// Checks a `webhook-signature` header, which may carry several space-separated signatures
/// (during a secret rotation): one valid `v1` signature is enough. Constant-time comparison.
/// Timestamp tolerance is the receiver's business and is not checked here.
pub fn verify(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
) -> Result<(), SigningError> {
    let key = key(secret)?;
    for candidate in header.split(' ') {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            continue;
        };
        let Ok(tag) = STANDARD.decode(encoded) else {
            continue;
        };
        if mac(&key, msg_id, timestamp, body)
            .verify_slice(&tag)
            .is_ok()
        {
            return Ok(());
        }
    }
    Err(SigningError::NoMatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector of the Standard Webhooks reference implementation's test suite.
    #[test]
    fn matches_the_reference_vector() {
        let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
        let msg_id = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
        let timestamp = 1649367553;
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let signature = sign(secret, msg_id, timestamp, body).unwrap();
        assert_eq!(signature, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
        verify(secret, msg_id, timestamp, body, &signature).unwrap();
    }

    #[test]
    fn verifies_any_of_several_and_refuses_tampering() {
        let secret = generate_secret();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(key(&secret).unwrap().len(), 32);
        let other = generate_secret();
        let good = sign(&secret, "msg_1", 10, b"{}").unwrap();
        let foreign = sign(&other, "msg_1", 10, b"{}").unwrap();
        verify(&secret, "msg_1", 10, b"{}", &format!("{foreign} {good}")).unwrap();
        verify(&secret, "msg_1", 10, b"{}", &format!("v2,abc {good}")).unwrap();
        assert_eq!(
            verify(&secret, "msg_1", 10, b"{ }", &good),
            Err(SigningError::NoMatch)
        );
        assert_eq!(
            verify(&secret, "msg_1", 11, b"{}", &good),
            Err(SigningError::NoMatch)
        );
        assert_eq!(
            verify(&secret, "msg_2", 10, b"{}", &foreign),
            Err(SigningError::NoMatch)
        );
        assert_eq!(sign("whsec_!!", "m", 1, b""), Err(SigningError::BadSecret));
    }
}
