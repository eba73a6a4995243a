//! Dated provider prices (a data file, `shared/pricing/prices.toml`) and the cost of a call.
//! Costs are integer micro-dollars per call, so job, batch and organization totals are exact
//! sums.

use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;

const DEFAULT_TABLE: &str = include_str!("../pricing/prices.toml");

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Price {
    /// USD per million prompt tokens.
    pub input: f64,
    /// USD per million prompt tokens served from the provider's cache.
    pub cached_input: f64,
    /// USD per million prompt tokens written to the cache (Anthropic: 1.25× input); unset:
    /// the input rate.
    #[serde(default)]
    pub cache_write: Option<f64>,
    /// USD per million completion tokens, reasoning and thinking tokens included.
    pub output: f64,
    /// The provider's batch-API rates (half price on all three), where it sells them.
    #[serde(default)]
    pub batch_input: Option<f64>,
    #[serde(default)]
    pub batch_output: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
struct Entry {
    provider: String,
    model: String,
    since: NaiveDate,
    #[serde(flatten)]
    price: Price,
    /// Where the figures come from.
    #[serde(default)]
    #[allow(dead_code)]
    source: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PriceTable {
    price: Vec<Entry>,
}

#[derive(Debug, thiserror::Error)]
#[error("price table {path}: {message}")]
pub struct PriceTableError {
    path: String,
    message: String,
}

/// Token usage of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input: i64,
    /// Of `input`, how many the provider served from its cache.
    pub cached_input: i64,
    /// Of `input`, how many were written to the provider's cache.
    pub cache_write_input: i64,
    pub output: i64,
}

impl PriceTable {
    pub fn embedded() -> Self {
        toml::from_str(DEFAULT_TABLE).expect("pricing/prices.toml is valid (tested)")
    }

    /// The table in `path`, or the embedded one when `path` is empty.
    pub fn load(path: &str) -> Result<Self, PriceTableError> {
        if path.is_empty() {
            return Ok(Self::embedded());
        }
        let err = |message: String| PriceTableError {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(Path::new(path)).map_err(|e| err(e.to_string()))?;
        toml::from_str(&text).map_err(|e| err(e.to_string()))
    }

    /// The price in force on `date` for `provider`/`model`, falling back to `model = "*"`.
    pub fn price(&self, provider: &str, model: &str, date: NaiveDate) -> Option<Price> {
        let newest = |wanted: &str| {
            self.price
                .iter()
                .filter(|e| e.provider == provider && e.model == wanted && e.since <= date)
                .max_by_key(|e| e.since)
                .map(|e| e.price)
        };
        newest(model).or_else(|| newest("*"))
    }
}

impl Price {
    /// One rate each for input, cached input and output; no cache-write or batch rates.
    pub fn flat(input: f64, cached_input: f64, output: f64) -> Self {
        Self {
            input,
            cached_input,
            cache_write: None,
            output,
            batch_input: None,
            batch_output: None,
        }
    }

    /// Cost in micro-dollars: USD per million tokens × tokens = micro-dollars.
    pub fn cost_micros(&self, usage: Usage) -> i64 {
        let cached = usage.cached_input.clamp(0, usage.input);
        let written = usage.cache_write_input.clamp(0, usage.input - cached);
        let fresh = usage.input - cached - written;
        (self.input * fresh as f64
            + self.cached_input * cached as f64
            + self.cache_write.unwrap_or(self.input) * written as f64
            + self.output * usage.output as f64)
            .round() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn dated_prices_and_fallbacks() {
        let t = PriceTable::embedded();
        let p = t.price("openai", "gpt-4o-mini", day("2026-11-22")).unwrap();
        assert_eq!(p.input, 0.15);
        assert!(
            t.price("openai", "gpt-4o-mini", day("2024-01-01"))
                .is_none(),
            "not yet priced"
        );
        assert!(t.price("llm-sim", "anything", day("2026-11-22")).is_some());
        assert!(t.price("nobody", "x", day("2026-11-22")).is_none());
    }

    #[test]
    fn newest_entry_wins() {
        let t: PriceTable = toml::from_str(
            r#"
            [[price]]
            provider = "p"
            model = "m"
            since = "2025-01-01"
            input = 1.0
            cached_input = 0.5
            output = 2.0
            [[price]]
            provider = "p"
            model = "m"
            since = "2026-01-01"
            input = 3.0
            cached_input = 1.0
            output = 4.0
            "#,
        )
        .unwrap();
        assert_eq!(t.price("p", "m", day("2025-06-01")).unwrap().input, 1.0);
        assert_eq!(t.price("p", "m", day("2026-06-01")).unwrap().input, 3.0);
    }

    #[test]
    fn cost_arithmetic_is_exact_micros() {
        let p = Price::flat(0.15, 0.075, 0.60);
        // 1,000 fresh in, 1,000 cached in, 1,000 out: 150 + 75 + 600 micro-dollars.
        let usage = Usage {
            input: 2_000,
            cached_input: 1_000,
            cache_write_input: 0,
            output: 1_000,
        };
        assert_eq!(p.cost_micros(usage), 825);
        assert_eq!(
            p.cost_micros(Usage {
                input: 1_000_000,
                cached_input: 0,
                cache_write_input: 0,
                output: 1_000_000
            }),
            750_000
        );
        // More cached than input (a provider quirk) never yields a negative fresh count.
        assert_eq!(
            p.cost_micros(Usage {
                input: 10,
                cached_input: 50,
                cache_write_input: 0,
                output: 0
            }),
            1
        );
    }
}
