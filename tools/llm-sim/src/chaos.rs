//! Transport faults per route: latency, random errors by status, 429s with retry hints,
//! exhausted quotas, malformed or truncated bodies, hangs, and scripted sequences ("fail the
//! next 20 calls, then recover"). Set at start or at run time through `POST /admin/faults`.

use std::{collections::VecDeque, time::Duration};

use serde::{Deserialize, Serialize};

/// What one route does besides answering.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultProfile {
    /// Base latency, and up to this much more, uniformly.
    pub latency_ms: u64,
    pub latency_jitter_ms: u64,
    /// Latency of faulted answers instead, e.g. a provider that sheds load answers 503 at
    /// once; unset: the same as successful ones.
    pub error_latency_ms: Option<u64>,
    /// Share of calls (0-1) answered with `error_status` (500, 502, 503, 529, 429…).
    pub error_rate: f64,
    pub error_status: u16,
    /// Further shares per status, e.g. `{"500": 0.05, "503": 0.1, "529": 0.02}`.
    pub error_rates: std::collections::BTreeMap<String, f64>,
    /// Retry hint on 429s: `retry-after` header (OpenAI, Anthropic) or `retryDelay` (Gemini).
    pub retry_after_secs: Option<u64>,
    /// Every call answers "quota / spend limit exhausted".
    pub quota_exhausted: bool,
    /// Shares of calls answered 200 with malformed JSON, with a truncated body, or not at all.
    pub malformed_rate: f64,
    pub truncated_rate: f64,
    pub hang_rate: f64,
    /// Played first, in order: e.g. `[{"fault": "503", "times": 20}]`.
    pub script: Vec<ScriptStep>,
    /// Shares of calls answered 200 in a valid envelope but with unusable content, by kind:
    /// `prose`, `broken_json`, `wrong_shape`, `truncated` (the protocol's own length stop
    /// reason), `refusal`, `empty`, `safety`. E.g. `{"prose": 1.0}`.
    pub content: std::collections::BTreeMap<String, f64>,
    /// A recorded answer served for every call instead (`recorded/*/*.json`'s shape: status,
    /// headers, body or body_text; `{{article}}`-style placeholders filled in).
    pub replay: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScriptStep {
    /// `ok`, `hang`, `malformed`, `truncated` (a cut-off body), `quota`, `content:<kind>`
    /// (see [`FaultProfile::content`]), or an HTTP status such as `503`.
    pub fault: String,
    /// For this many calls…
    pub times: u32,
    /// …or, when set, for this long (seconds after the previous step ended; the first step
    /// starts when the profile is set).
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A 200 in a valid envelope whose content is unusable.
    Content(ContentFault),
    Status(u16),
    RateLimited {
        retry_after_secs: Option<u64>,
    },
    QuotaExhausted,
    Malformed,
    Truncated,
    Hang,
}

/// Unusable content in a valid answer, each as its protocol shapes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentFault {
    /// The model wrote prose instead of the JSON.
    Prose,
    /// JSON cut off mid-way, with a normal stop reason.
    BrokenJson,
    /// JSON of another shape.
    WrongShape,
    /// Stopped at the token limit: `length`, `max_tokens`, `MAX_TOKENS`.
    Truncated,
    /// The model refused: OpenAI `message.refusal`, Anthropic `stop_reason: refusal`, Gemini
    /// `promptFeedback.blockReason`.
    Refusal,
    /// No content at all.
    Empty,
    /// Blocked by a safety filter: `content_filter`, `refusal`, `SAFETY`.
    Safety,
}

impl std::str::FromStr for ContentFault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "prose" => Self::Prose,
            "broken_json" => Self::BrokenJson,
            "wrong_shape" => Self::WrongShape,
            "truncated" | "length" => Self::Truncated,
            "refusal" => Self::Refusal,
            "empty" => Self::Empty,
            "safety" => Self::Safety,
            other => return Err(format!("unknown content fault {other:?}")),
        })
    }
}

pub struct Decision {
    pub latency: Duration,
    pub fault: Option<Fault>,
}

#[derive(Debug)]
enum Lasts {
    Calls(u32),
    Until(std::time::Instant),
}

/// A route's profile and where it is in its script.
#[derive(Debug, Default)]
pub struct RouteChaos {
    profile: FaultProfile,
    script: VecDeque<(Option<Fault>, Lasts)>,
    rng: u64,
}

fn parse_fault(name: &str, profile: &FaultProfile) -> Option<Fault> {
    match name {
        "ok" => None,
        "hang" => Some(Fault::Hang),
        "malformed" => Some(Fault::Malformed),
        "truncated" => Some(Fault::Truncated),
        "quota" => Some(Fault::QuotaExhausted),
        content if content.starts_with("content:") => {
            content["content:".len()..].parse().ok().map(Fault::Content)
        }
        "429" => Some(Fault::RateLimited {
            retry_after_secs: profile.retry_after_secs,
        }),
        status => Some(Fault::Status(status.parse().unwrap_or(500))),
    }
}

impl RouteChaos {
    pub fn set(&mut self, profile: FaultProfile) {
        let mut clock = std::time::Instant::now();
        self.script = profile
            .script
            .iter()
            .map(|s| {
                let lasts = if s.seconds > 0.0 {
                    clock += Duration::from_secs_f64(s.seconds);
                    Lasts::Until(clock)
                } else {
                    Lasts::Calls(s.times)
                };
                (parse_fault(&s.fault, &profile), lasts)
            })
            .collect();
        self.profile = profile;
    }

    pub fn profile(&self) -> &FaultProfile {
        &self.profile
    }

    fn roll(&mut self) -> f64 {
        // splitmix64: deterministic for a given sequence of calls.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    }

    pub fn decide(&mut self) -> Decision {
        let mut decision = self.decide_fault();
        if decision.fault.is_some()
            && let Some(ms) = self.profile.error_latency_ms
        {
            decision.latency = Duration::from_millis(ms);
        }
        decision
    }

    fn decide_fault(&mut self) -> Decision {
        let p = self.profile.clone();
        let jitter = if p.latency_jitter_ms > 0 {
            (self.roll() * p.latency_jitter_ms as f64) as u64
        } else {
            0
        };
        let latency = Duration::from_millis(p.latency_ms + jitter);
        while let Some((_, Lasts::Until(end))) = self.script.front() {
            if std::time::Instant::now() < *end {
                break;
            }
            self.script.pop_front();
        }
        if let Some((fault, lasts)) = self.script.front_mut() {
            let fault = fault.clone();
            if let Lasts::Calls(left) = lasts {
                *left = left.saturating_sub(1);
                if *left == 0 {
                    self.script.pop_front();
                }
            }
            return Decision { latency, fault };
        }
        if p.quota_exhausted {
            return Decision {
                latency,
                fault: Some(Fault::QuotaExhausted),
            };
        }
        let r = self.roll();
        let mut edge = 0.0;
        for (rate, fault) in [
            (p.hang_rate, Fault::Hang),
            (p.malformed_rate, Fault::Malformed),
            (p.truncated_rate, Fault::Truncated),
        ] {
            edge += rate;
            if r < edge {
                return Decision {
                    latency,
                    fault: Some(fault),
                };
            }
        }
        let status_fault = |status: u16| match status {
            429 => Fault::RateLimited {
                retry_after_secs: p.retry_after_secs,
            },
            0 => Fault::Status(500),
            s => Fault::Status(s),
        };
        edge += p.error_rate;
        if r < edge {
            return Decision {
                latency,
                fault: Some(status_fault(p.error_status)),
            };
        }
        for (kind, rate) in &p.content {
            edge += rate;
            if r < edge
                && let Ok(kind) = kind.parse()
            {
                return Decision {
                    latency,
                    fault: Some(Fault::Content(kind)),
                };
            }
        }
        for (status, rate) in &p.error_rates {
            edge += rate;
            if r < edge {
                return Decision {
                    latency,
                    fault: Some(status_fault(status.parse().unwrap_or(500))),
                };
            }
        }
        Decision {
            latency,
            fault: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_play_first_then_rates_apply() {
        let mut c = RouteChaos::default();
        c.set(FaultProfile {
            script: vec![
                ScriptStep {
                    fault: "503".into(),
                    times: 2,
                    ..ScriptStep::default()
                },
                ScriptStep {
                    fault: "ok".into(),
                    times: 1,
                    ..ScriptStep::default()
                },
            ],
            error_rate: 1.0,
            error_status: 429,
            retry_after_secs: Some(3),
            ..FaultProfile::default()
        });
        assert_eq!(c.decide().fault, Some(Fault::Status(503)));
        assert_eq!(c.decide().fault, Some(Fault::Status(503)));
        assert_eq!(c.decide().fault, None);
        assert_eq!(
            c.decide().fault,
            Some(Fault::RateLimited {
                retry_after_secs: Some(3)
            })
        );
    }
}

#[cfg(test)]
mod rates {
    use super::*;

    #[test]
    fn error_rates_per_status_add_up() {
        let mut c = RouteChaos::default();
        let rates = [
            ("500".to_owned(), 0.2),
            ("503".to_owned(), 0.2),
            ("529".to_owned(), 0.2),
        ]
        .into();
        c.set(FaultProfile {
            error_rates: rates,
            ..FaultProfile::default()
        });
        let mut seen = std::collections::BTreeMap::new();
        for _ in 0..5000 {
            *seen.entry(format!("{:?}", c.decide().fault)).or_insert(0) += 1;
        }
        for key in [
            "Some(Status(500))",
            "Some(Status(503))",
            "Some(Status(529))",
        ] {
            let n = seen[key];
            assert!((850..1150).contains(&n), "{key}: {n} of 5000");
        }
        assert!((1800..2200).contains(&seen["None"]));
    }
}

#[cfg(test)]
mod timed {
    use super::*;

    #[test]
    fn timed_steps_last_their_time() {
        let mut c = RouteChaos::default();
        c.set(FaultProfile {
            script: vec![ScriptStep {
                fault: "503".into(),
                seconds: 0.2,
                ..ScriptStep::default()
            }],
            ..FaultProfile::default()
        });
        assert_eq!(c.decide().fault, Some(Fault::Status(503)));
        assert_eq!(c.decide().fault, Some(Fault::Status(503)));
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(c.decide().fault, None);
    }
}
