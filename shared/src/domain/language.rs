use std::fmt;

use serde::{Deserialize, Serialize};

/// Article languages BACOWR writes in: ISO 639-1 codes, lower-case.
const KNOWN: &[&str] = &[
    "sv", "en", "de", "da", "nb", "no", "nn", "fi", "is", "nl", "fr", "es", "it", "pt", "pl", "cs",
    "sk", "hu", "ro", "bg", "el", "et", "lv", "lt", "sl", "hr", "sr", "uk", "ru", "tr", "ca", "ga",
    "mt", "ja", "zh", "ko", "ar", "he", "hi", "id", "ms", "th", "vi",
];

/// A known ISO 639-1 language code.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[schema(value_type = String, example = "sv")]
#[serde(transparent)]
pub struct Language(String);

impl Language {
    /// Accepts `sv`, `SV`, `sv-SE` or `sv_se`; the region is dropped because the article
    /// language is what matters to the writer.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        let primary = trimmed
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if KNOWN.contains(&primary.as_str()) {
            Ok(Self(primary))
        } else {
            Err(format!(
                "unknown language code {trimmed:?}; use an ISO 639-1 code such as sv, en or de"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn known() -> &'static [&'static str] {
        KNOWN
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_rejects() {
        assert_eq!(Language::parse("SV").unwrap().as_str(), "sv");
        assert_eq!(Language::parse("en-GB").unwrap().as_str(), "en");
        assert!(Language::parse("xx").is_err());
        assert!(Language::parse("").is_err());
    }
}
