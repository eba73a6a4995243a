//! Redis stream entry ids (`<ms>-<seq>`): ordered, so a subscriber can tell a duplicate (an id
//! at or before the last one it sent) from a new event.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a stream id of the form <milliseconds>-<sequence>, e.g. 1764465600000-0")]
pub struct StreamIdError;

impl StreamId {
    pub fn parse(s: &str) -> Result<Self, StreamIdError> {
        let (ms, seq) = s.trim().split_once('-').ok_or(StreamIdError)?;
        let digits =
            |p: &str| !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return Err(StreamIdError);
        }
        Ok(Self {
            ms: ms.parse().map_err(|_| StreamIdError)?,
            seq: seq.parse().map_err(|_| StreamIdError)?,
        })
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl FromStr for StreamId {
    type Err = StreamIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for StreamId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StreamId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_orders_and_rejects_junk() {
        let a = StreamId::parse("1764465600000-0").unwrap();
        let b = StreamId::parse("1764465600000-1").unwrap();
        let c = StreamId::parse("1764465600001-0").unwrap();
        assert!(a < b && b < c);
        assert_eq!(a.to_string(), "1764465600000-0");
        for bad in [
            "",
            "12",
            "-1",
            "1-",
            "a-1",
            "1-2-3",
            "$",
            "+",
            "99999999999999999999999-0",
        ] {
            assert!(StreamId::parse(bad).is_err(), "{bad}");
        }
    }
}
