//! The review state machine: `pending → approved | rejected`, and
//! `pending | rejected → regenerating → pending` with a new article version. Approved is final
//! for regeneration; approve and reject only decide a pending item.

use sea_orm::{DeriveActiveEnum, EnumIter, entity::prelude::StringLen};
use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Waiting for a reviewer.
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "approved")]
    Approved,
    #[sea_orm(string_value = "rejected")]
    Rejected,
    /// A new version is being written with the reviewer's notes as feedback.
    #[sea_orm(string_value = "regenerating")]
    Regenerating,
}

impl ReviewStatus {
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Regenerating => "regenerating",
        }
    }
}

/// What a reviewer decides about an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Approve,
    Reject,
    NeedsRegeneration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {decision} an item that is {current}")]
pub struct ReviewError {
    pub decision: &'static str,
    pub current: &'static str,
}

impl ReviewDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::NeedsRegeneration => "needs_regeneration",
        }
    }

    /// The states this decision may be taken from.
    pub fn allowed_from(self) -> &'static [ReviewStatus] {
        match self {
            Self::Approve | Self::Reject => &[ReviewStatus::Pending],
            // A rejected article may still be worth another try; an approved one is final.
            Self::NeedsRegeneration => &[ReviewStatus::Pending, ReviewStatus::Rejected],
        }
    }

    pub fn target(self) -> ReviewStatus {
        match self {
            Self::Approve => ReviewStatus::Approved,
            Self::Reject => ReviewStatus::Rejected,
            Self::NeedsRegeneration => ReviewStatus::Regenerating,
        }
    }

    /// The state after this decision, or why it can't be taken from `current`.
    pub fn apply(self, current: ReviewStatus) -> Result<ReviewStatus, ReviewError> {
        if self.allowed_from().contains(&current) {
            Ok(self.target())
        } else {
            Err(ReviewError {
                decision: self.as_str(),
                current: current.as_str(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ReviewDecision::*, ReviewStatus::*};

    #[test]
    fn every_transition_legal_or_refused() {
        let table = [
            (Approve, Pending, Some(Approved)),
            (Approve, Approved, None),
            (Approve, Rejected, None),
            (Approve, Regenerating, None),
            (Reject, Pending, Some(Rejected)),
            (Reject, Approved, None),
            (Reject, Rejected, None),
            (Reject, Regenerating, None),
            (NeedsRegeneration, Pending, Some(Regenerating)),
            (NeedsRegeneration, Rejected, Some(Regenerating)),
            (NeedsRegeneration, Approved, None),
            (NeedsRegeneration, Regenerating, None),
        ];
        for (decision, from, to) in table {
            assert_eq!(decision.apply(from).ok(), to, "{decision:?} from {from:?}");
        }
        let err = NeedsRegeneration.apply(Approved).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot needs_regeneration an item that is approved"
        );
    }
}
