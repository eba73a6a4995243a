use std::fmt;

use serde::Serialize;
use url::Url;

use super::Language;

pub const MAX_DOMAIN_LEN: usize = 255;
pub const MIN_DOMAIN_LEN: usize = 3;
pub const MAX_URL_LEN: usize = 2048;
pub const MAX_ANCHOR_CHARS: usize = 500;

/// Why one field of a link assignment was refused; `field` is the wire name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkError {
    pub field: &'static str,
    pub message: String,
}

impl LinkError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// The site the article will be published on: a bare, lower-cased host name.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PublisherDomain(String);

impl PublisherDomain {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        if s.contains("://") {
            return Err("must be a bare domain such as example.com, without a scheme".into());
        }
        if s.len() < MIN_DOMAIN_LEN || s.len() > MAX_DOMAIN_LEN {
            return Err(format!(
                "must be {MIN_DOMAIN_LEN}-{MAX_DOMAIN_LEN} characters long"
            ));
        }
        if s.contains(['/', '?', '#', ':', '@', ' ']) {
            return Err("must be a bare domain such as example.com, without path or port".into());
        }
        let labels: Vec<&str> = s.split('.').collect();
        if labels.len() < 2 {
            return Err("must contain a dot, such as example.com".into());
        }
        for label in &labels {
            let ok = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii());
            if !ok {
                return Err(format!("{raw:?} is not a valid domain name"));
            }
        }
        if labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
        {
            return Err("must be a domain name, not an IP address".into());
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The client page that receives the link: an absolute http(s) URL.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TargetUrl(String);

impl TargetUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.len() > MAX_URL_LEN {
            return Err(format!("must be at most {MAX_URL_LEN} characters"));
        }
        let url = Url::parse(s).map_err(|e| format!("is not an absolute URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must use http or https".into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("must have a host".into());
        }
        // Keep the URL exactly as the client wrote it (trimmed): the anchor link must carry
        // the same string the agency sold, not a re-serialised variant.
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The clickable text of the link: 1-500 characters after trimming.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AnchorText(String);

/// Characters that take no space on the page: zero-width space, joiners, word joiner, BOM,
/// soft hyphen. A link text made only of them would be a link nobody can see or click.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}'
    )
}

impl AnchorText {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim_matches(|c: char| c.is_whitespace() || is_invisible(c));
        let n = s.chars().count();
        if n == 0 {
            return Err("must not be empty (or only spaces and invisible characters)".into());
        }
        if n > MAX_ANCHOR_CHARS {
            return Err(format!("must be at most {MAX_ANCHOR_CHARS} characters"));
        }
        if s.chars().any(|c| c.is_control()) {
            return Err("must not contain control characters or line breaks".into());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }
    )*};
}
display_as_str!(PublisherDomain, TargetUrl, AnchorText);

/// One validated link assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkAssignment {
    pub publisher_domain: PublisherDomain,
    pub target_url: TargetUrl,
    pub anchor_text: AnchorText,
    pub language: Option<Language>,
}

impl LinkAssignment {
    /// Validates every field and reports every bad one, not just the first.
    pub fn parse(
        publisher_domain: &str,
        target_url: &str,
        anchor_text: &str,
        language: Option<&str>,
    ) -> Result<Self, Vec<LinkError>> {
        let mut errors = Vec::new();
        let publisher = PublisherDomain::parse(publisher_domain)
            .map_err(|m| errors.push(LinkError::new("publisher_domain", m)))
            .ok();
        let target = TargetUrl::parse(target_url)
            .map_err(|m| errors.push(LinkError::new("target_url", m)))
            .ok();
        let anchor = AnchorText::parse(anchor_text)
            .map_err(|m| errors.push(LinkError::new("anchor_text", m)))
            .ok();
        let language = match language.map(str::trim).filter(|l| !l.is_empty()) {
            None => Some(None),
            Some(l) => Language::parse(l)
                .map_err(|m| errors.push(LinkError::new("language", m)))
                .ok()
                .map(Some),
        };
        match (publisher, target, anchor, language) {
            (Some(publisher_domain), Some(target_url), Some(anchor_text), Some(language)) => {
                Ok(Self {
                    publisher_domain,
                    target_url,
                    anchor_text,
                    language,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publisher_domain_rules() {
        assert_eq!(
            PublisherDomain::parse(" Example.COM ").unwrap().as_str(),
            "example.com"
        );
        assert!(PublisherDomain::parse("https://example.com").is_err());
        assert!(PublisherDomain::parse("example.com/path").is_err());
        assert!(PublisherDomain::parse("localhost").is_err());
        assert!(PublisherDomain::parse("a.").is_err());
        assert!(PublisherDomain::parse("10.0.0.1").is_err());
        assert!(PublisherDomain::parse("-bad.com").is_err());
        assert!(PublisherDomain::parse(&format!("{}.com", "a".repeat(300))).is_err());
        assert!(PublisherDomain::parse("bloggen.se").is_ok());
        assert!(PublisherDomain::parse("sub.domain.co.uk").is_ok());
    }

    #[test]
    fn target_url_rules() {
        assert!(TargetUrl::parse("https://client.se/page?x=1").is_ok());
        assert!(TargetUrl::parse("ftp://client.se/").is_err());
        assert!(TargetUrl::parse("client.se/page").is_err());
        assert!(TargetUrl::parse("").is_err());
        assert!(TargetUrl::parse(&format!("https://a.se/{}", "x".repeat(2048))).is_err());
    }

    #[test]
    fn anchor_rules() {
        assert_eq!(
            AnchorText::parse("  bästa cykeln ").unwrap().as_str(),
            "bästa cykeln"
        );
        assert!(AnchorText::parse("   ").is_err());
        assert!(AnchorText::parse("\u{200B}\u{200D} \u{FEFF}").is_err());
        assert_eq!(
            AnchorText::parse("\u{200B}köp\u{200B}").unwrap().as_str(),
            "köp"
        );
        assert!(AnchorText::parse(&"å".repeat(500)).is_ok());
        assert!(AnchorText::parse(&"å".repeat(501)).is_err());
        assert!(AnchorText::parse("a\nb").is_err());
    }

    #[test]
    fn reports_every_bad_field() {
        let errs = LinkAssignment::parse("http://x", "nope", " ", Some("zz")).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["publisher_domain", "target_url", "anchor_text", "language"]
        );
    }
}
