//! What a batch will cost before it runs (`POST /api/v1/batches?dry_run=true`): tokens per
//! job from the prompt's size and the profile's word range, priced with the same dated table
//! the workers use.

use serde::Serialize;

use bacowr_shared::{
    config::Settings,
    pricing::{PriceTable, Usage},
    qc::QcThresholds,
    quota::check::Demand,
};

/// Prompt tokens of one call: instructions and plan (~700) and page context (~1,200).
const PROMPT_TOKENS: i64 = 1_900;
/// Completion tokens per article word: Markdown, JSON framing, and Nordic/German compounds.
const TOKENS_PER_WORD: f64 = 1.6;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Estimate {
    pub links: usize,
    pub provider: String,
    pub model: String,
    pub qc_profile: String,
    /// Every job passes QC on its first draft.
    pub expected: EstimateFigures,
    /// Every job uses all its regenerations.
    pub maximum: EstimateFigures,
    pub assumptions: String,
    /// The organization's quotas and budgets against the expected figures, when it has any
    /// (`dry_run=true` only). A submission is refused (402) on the first one `exceeded`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<super::quota::QuotaReport>,
    /// What this deployment can't check (page context off, a simulated web).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
}

impl Estimate {
    /// What the batch is expected to take from the organization's quotas and budgets.
    pub fn demand(&self) -> Demand {
        let e = &self.expected;
        let links = i64::try_from(self.links).unwrap_or(i64::MAX).max(1);
        Demand {
            jobs: i64::try_from(self.links).unwrap_or(i64::MAX),
            tokens: e.tokens_in + e.tokens_out,
            cost_micros: e.cost_micros,
            job_cost_micros: (e.cost_micros + links - 1) / links,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EstimateFigures {
    pub calls: i64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
    /// Exact, in millionths of a US dollar.
    pub cost_micros: i64,
}

/// Estimated against the first deployment the batch would use.
pub fn estimate(
    links: usize,
    profile: &str,
    thresholds: &QcThresholds,
    settings: &Settings,
    providers: Option<&[String]>,
    prices: &PriceTable,
) -> Estimate {
    let chain = settings.chain();
    let first = providers
        .and_then(|p| p.first())
        .and_then(|name| chain.iter().find(|(n, _)| n == name))
        .or_else(|| chain.first())
        .cloned();
    let (deployment, d) = first.expect("a chain always has a deployment");
    // Every deployment was priced when the process started (`Settings::check_prices`).
    let price = d
        .price(&deployment, prices, chrono::Utc::now().date_naive())
        .unwrap_or(bacowr_shared::pricing::Price::flat(0.0, 0.0, 0.0));
    let words = f64::from(thresholds.min_words + thresholds.max_words) / 2.0;
    let per_call_out = (words * TOKENS_PER_WORD).round() as i64;
    let figures = |calls_per_job: i64| {
        let calls = calls_per_job * links as i64;
        let usage = Usage {
            input: PROMPT_TOKENS * calls,
            cached_input: 0,
            cache_write_input: 0,
            output: per_call_out * calls,
        };
        let cost_micros = price.cost_micros(usage);
        EstimateFigures {
            calls,
            tokens_in: usage.input,
            tokens_out: usage.output,
            cost_usd: cost_micros as f64 / 1_000_000.0,
            cost_micros,
        }
    };
    Estimate {
        links,
        provider: deployment.clone(),
        model: d.model.clone(),
        qc_profile: profile.to_owned(),
        expected: figures(1),
        maximum: figures(1 + i64::from(thresholds.max_regenerations)),
        assumptions: format!(
            "{PROMPT_TOKENS} prompt tokens per call, {TOKENS_PER_WORD} completion tokens per \
             article word, {words:.0} words per article; prices of {deployment} ({}) today",
            d.model
        ),
        quota: None,
        notices: super::notices::for_settings(settings),
    }
}
