//! Typed, prefixed identifiers. Stored as UUIDv7 (time-ordered, so they double as pagination
//! cursors); shown to clients as `<prefix>_<32 hex>` so an id can't be passed where another
//! kind is expected.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an id of the form {prefix}_<32 hex digits>")]
pub struct IdParseError {
    pub prefix: &'static str,
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A fresh id; UUIDv7 keeps ids ordered by creation time.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub fn uuid(&self) -> Uuid {
                self.0
            }

            pub fn parse(s: &str) -> Result<Self, IdParseError> {
                let err = IdParseError { prefix: $prefix };
                let rest = s
                    .strip_prefix($prefix)
                    .and_then(|r| r.strip_prefix('_'))
                    .ok_or(err.clone())?;
                if rest.len() != 32 || !rest.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(err);
                }
                Uuid::parse_str(rest).map(Self).map_err(|_| err)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, self.0.simple())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(concat!("^", $prefix, "_[0-9a-f]{32}$")))
                    .examples([serde_json::json!(concat!($prefix, "_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e"))])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

typed_id!(
    /// An organization (tenant).
    OrgId, "org"
);
typed_id!(
    /// An API key.
    ApiKeyId, "key"
);
typed_id!(
    /// A batch of link assignments.
    BatchId, "batch"
);
typed_id!(
    /// One link assignment: one article to write.
    JobId, "job"
);
typed_id!(
    /// One stored article version.
    ArticleId, "art"
);
typed_id!(
    /// One provider call.
    LlmCallId, "call"
);
typed_id!(
    /// A job's article under review (one per job, across its versions).
    ReviewItemId, "item"
);
typed_id!(
    /// One recorded review decision.
    ReviewDecisionId, "rvd"
);
typed_id!(
    /// A webhook endpoint of an organization.
    WebhookEndpointId, "wh"
);
typed_id!(
    /// One webhook message to one endpoint: the Standard Webhooks `webhook-id`, the same on
    /// every retry so receivers can deduplicate.
    WebhookDeliveryId, "msg"
);
typed_id!(
    /// One HTTP attempt at a webhook delivery.
    WebhookAttemptId, "wha"
);
typed_id!(
    /// A person who signs in (JWT); programs use API keys.
    UserId, "user"
);
typed_id!(
    /// One login: the family of its rotating refresh tokens.
    SessionId, "ses"
);
typed_id!(
    /// One audit log entry (a mutating request or a security event).
    AuditLogId, "aud"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_kinds() {
        let id = BatchId::new();
        let s = id.to_string();
        assert!(s.starts_with("batch_"));
        assert_eq!(BatchId::parse(&s).unwrap(), id);
        assert!(JobId::parse(&s).is_err());
        assert!(BatchId::parse("batch_xyz").is_err());
        assert!(BatchId::parse(&s.to_uppercase()).is_err());
        assert!(BatchId::parse("batch_").is_err());
    }

    #[test]
    fn ids_sort_by_creation() {
        let a = JobId::new();
        let b = JobId::new();
        assert!(a < b);
    }
}
