//! The provider simulator (llm-sim) in this process, standing in for Claude, GPT and Gemini:
//! the workers talk to it over real HTTP in each provider's own wire format, through the same
//! router, breakers and retries as in production. Used by `demo` and `up --simulate`.

use std::time::Duration;

use bacowr_shared::config::{DeploymentSettings, ProviderKind, Settings};
use llm_sim::{FaultProfile, Protocol, ScriptStep, SimConfig, SimHandle};

use crate::exit::CliError;

const KEY: &str = "sim-key";

/// The simulated chain, in order: (deployment, protocol, model).
pub const CHAIN: [(&str, Protocol, &str); 3] = [
    ("claude", Protocol::Anthropic, "claude-sonnet-4-5"),
    ("gpt", Protocol::OpenAi, "gpt-4o-mini"),
    ("gemini", Protocol::Gemini, "gemini-2.5-flash"),
];

/// How the simulated providers behave.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Generation time per call, and up to this much more.
    pub latency_ms: u64,
    pub jitter_ms: u64,
    /// The primary (`claude`) answers 503 from this many seconds after the outage is armed…
    pub outage_after_secs: f64,
    /// …for this long (0: no outage).
    pub outage_secs: f64,
}

impl Profile {
    /// No faults: for `up --simulate`.
    pub fn calm() -> Self {
        Self {
            latency_ms: 800,
            jitter_ms: 700,
            outage_after_secs: 0.0,
            outage_secs: 0.0,
        }
    }
}

fn kind(protocol: Protocol) -> ProviderKind {
    match protocol {
        Protocol::Anthropic => ProviderKind::Anthropic,
        Protocol::Gemini => ProviderKind::Gemini,
        Protocol::OpenAi => ProviderKind::OpenAi,
    }
}

/// Starts the simulator and points `settings` at it: three deployments chained
/// claude → gpt → gemini, breakers that open and recover within a demo's length.
pub async fn start(settings: &mut Settings, profile: &Profile) -> Result<SimHandle, CliError> {
    let jitter = FaultProfile {
        latency_jitter_ms: profile.jitter_ms,
        ..FaultProfile::default()
    };
    let sim = llm_sim::spawn(SimConfig {
        latency: Duration::from_millis(profile.latency_ms),
        api_key: Some(KEY.into()),
        faults: CHAIN.iter().map(|(_, p, _)| (*p, jitter.clone())).collect(),
        ..SimConfig::default()
    })
    .await
    .map_err(|e| CliError::Local(format!("the provider simulator did not start: {e}")))?;
    settings.deployments.clear();
    for (name, protocol, model) in CHAIN {
        settings.deployments.insert(
            name.to_owned(),
            DeploymentSettings {
                base_url: if protocol == Protocol::OpenAi {
                    sim.openai_base_url()
                } else {
                    sim.base_url()
                },
                api_key: KEY.to_owned(),
                timeout_secs: 30,
                ..DeploymentSettings::new(kind(protocol), model)
            },
        );
    }
    settings.router.chain = CHAIN.iter().map(|(n, _, _)| (*n).to_owned()).collect();
    // The pages too: every target, publisher and trust-link URL answers from the fixture
    // site, so any sheet runs as it would against the web. Its task outlives the handle,
    // for as long as the process runs.
    let site = llm_sim::spawn_site()
        .await
        .map_err(|e| CliError::Local(format!("the simulated web did not start: {e}")))?;
    settings.context.simulate_web = site.url("");
    // Short enough that a demo shows a breaker open, half-open and close again.
    settings.router.breaker_cooldown_secs = 8;
    settings.router.breaker_min_calls = 4;
    settings.router.breaker_window = 12;
    settings.provider.backoff_initial_ms = 200;
    settings.provider.backoff_max_ms = 2000;
    Ok(sim)
}

/// Starts the primary's outage now (the script's clock starts when it is set).
pub fn arm_outage(sim: &SimHandle, profile: &Profile) {
    if profile.outage_secs <= 0.0 {
        return;
    }
    let mut script = Vec::new();
    if profile.outage_after_secs > 0.0 {
        script.push(ScriptStep {
            fault: "ok".into(),
            seconds: profile.outage_after_secs,
            ..ScriptStep::default()
        });
    }
    script.push(ScriptStep {
        fault: "503".into(),
        seconds: profile.outage_secs,
        ..ScriptStep::default()
    });
    sim.set_faults(
        CHAIN[0].1,
        FaultProfile {
            latency_jitter_ms: profile.jitter_ms,
            script,
            ..FaultProfile::default()
        },
    );
}

/// Calls and errors the simulator served per deployment: what the "providers" saw.
pub fn served(sim: &SimHandle) -> Vec<(&'static str, llm_sim::Served)> {
    CHAIN.iter().map(|(n, p, _)| (*n, sim.served(*p))).collect()
}
