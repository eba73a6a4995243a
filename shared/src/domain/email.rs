//! An account's email address: trimmed, lower-cased, one `@` with a dotted domain, at most
//! 254 bytes (RFC 5321). Deliverability is not checked: no mail is sent.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EmailError(&'static str);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err(EmailError("must not be empty"));
        }
        if s.len() > 254 {
            return Err(EmailError("must be at most 254 characters"));
        }
        let (local, domain) = s
            .split_once('@')
            .ok_or(EmailError("must look like name@example.com"))?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.len() > 64 || domain.contains('@') || !domain_ok {
            return Err(EmailError("must look like name@example.com"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError("must not contain spaces"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_refuses_malformed_addresses() {
        assert_eq!(
            Email::parse(" Ana@Agency.SE ").unwrap().as_str(),
            "ana@agency.se"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@agency.se",
            "ana@agency",
            "a b@agency.se",
            "a@b@c.se",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }
}
