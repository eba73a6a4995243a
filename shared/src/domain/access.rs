//! Who may do what: user roles, API key scopes, and the set of scopes a caller holds.
//!
//! A route requires one scope (or only an authenticated caller). A user holds the scopes of
//! their role; an API key holds the scopes it was created with, which can never exceed its
//! creator's.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything an admin can do, plus granting and removing the owner role.
    Owner,
    /// Manages users, API keys, webhooks, organization settings; reads the audit log.
    Admin,
    /// Submits, reads and reviews batches.
    Member,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn scopes(self) -> Scopes {
        match self {
            Role::Owner | Role::Admin => Scopes::all(),
            Role::Member => {
                Scopes::from_iter([Scope::BatchesRead, Scope::BatchesWrite, Scope::Review])
            }
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Scope {
    /// Read batches, jobs, items, exports, usage, analytics, live progress.
    #[serde(rename = "batches:read")]
    BatchesRead,
    /// Submit batches and jobs; cancel and retry.
    #[serde(rename = "batches:write")]
    BatchesWrite,
    /// Approve, reject, ask for regeneration.
    #[serde(rename = "review")]
    Review,
    /// Users, API keys, webhooks, organization settings, audit log.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::BatchesRead,
        Scope::BatchesWrite,
        Scope::Review,
        Scope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::BatchesRead => "batches:read",
            Scope::BatchesWrite => "batches:write",
            Scope::Review => "review",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}; scopes are batches:read, batches:write, review, admin")]
pub struct UnknownScope(pub String);

impl Scopes {
    pub fn all() -> Self {
        Self::from_iter(Scope::ALL)
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn is_subset_of(self, other: Scopes) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// Space-separated, as stored: `batches:read review`.
    pub fn parse(s: &str) -> Result<Self, UnknownScope> {
        s.split_whitespace()
            .map(|w| Scope::parse(w).ok_or_else(|| UnknownScope(w.to_owned())))
            .collect()
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self(iter.into_iter().fold(0, |acc, s| acc | s.bit()))
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Scope::as_str).collect();
        f.write_str(&names.join(" "))
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scopes({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_and_refuse_unknown_names() {
        let s = Scopes::parse("review  batches:read").unwrap();
        assert_eq!(s.to_string(), "batches:read review");
        assert_eq!(Scopes::parse(&s.to_string()).unwrap(), s);
        assert!(Scopes::parse("batches:delete").is_err());
        assert!(Scopes::parse("").unwrap().is_empty());
    }

    #[test]
    fn members_hold_no_admin_scope_and_keys_cannot_exceed_their_creator() {
        assert!(!Role::Member.scopes().contains(Scope::Admin));
        assert!(Role::Admin.scopes().contains(Scope::Admin));
        let member_key = Scopes::parse("batches:read admin").unwrap();
        assert!(!member_key.is_subset_of(Role::Member.scopes()));
        assert!(member_key.is_subset_of(Role::Owner.scopes()));
    }
}
