//! The results table (`bench/RESULTS.md`): what was measured, on what, how, and whether each
//! figure met its target.

use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    /// Reported, no target.
    Reported,
}

pub struct Target {
    text: String,
    verdict: Verdict,
}

impl Target {
    fn check(ok: bool, text: String) -> Self {
        Self {
            text,
            verdict: if ok { Verdict::Met } else { Verdict::Missed },
        }
    }

    pub fn at_most(value: f64, limit: f64, text: &str) -> Self {
        Self::check(value <= limit, text.to_owned())
    }

    pub fn at_least(value: f64, limit: f64, text: &str) -> Self {
        Self::check(value >= limit, text.to_owned())
    }

    pub fn ratio_at_most(ratio: f64, limit: f64) -> Self {
        Self::check(ratio <= limit, format!("≤ {limit}× floor"))
    }

    pub fn all(targets: impl IntoIterator<Item = Target>) -> Self {
        let targets: Vec<Target> = targets.into_iter().collect();
        let verdict = if targets.iter().all(|t| t.verdict != Verdict::Missed) {
            Verdict::Met
        } else {
            Verdict::Missed
        };
        Self {
            text: targets
                .iter()
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            verdict,
        }
    }

    pub fn report() -> Self {
        Self {
            text: "report".into(),
            verdict: Verdict::Reported,
        }
    }
}

pub struct Row {
    pub id: &'static str,
    pub measure: String,
    pub value: String,
    pub floor: String,
    pub ratio: Option<f64>,
    pub target: Target,
}

impl Row {
    pub fn new(
        id: &'static str,
        measure: String,
        value: String,
        floor: String,
        ratio: Option<f64>,
        target: Target,
    ) -> Self {
        Self {
            id,
            measure,
            value,
            floor,
            ratio,
            target,
        }
    }

    pub fn verdict(&self) -> Verdict {
        self.target.verdict
    }
}

pub struct Context {
    pub command: String,
    pub runs: usize,
    pub started: chrono::DateTime<chrono::Utc>,
    pub seconds: f64,
}

/// The machine, as `/proc` tells it.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or_else(
            || "?".into(),
            |kib| format!("{:.0} GiB", kib / 1024.0 / 1024.0),
        );
    format!("{cores} cores ({cpu}), {mem} RAM")
}

pub fn markdown(rows: &[Row], ctx: &Context) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# BACOWR benchmark results\n");
    let _ = writeln!(out, "- Machine: {}", machine());
    let _ = writeln!(
        out,
        "- Date: {} (UTC), {:.0} s in all",
        ctx.started.format("%Y-%m-%d %H:%M"),
        ctx.seconds
    );
    let _ = writeln!(out, "- Command: `{}`", ctx.command);
    let _ = writeln!(
        out,
        "- Figures are medians over {} runs; each ratio is computed within a run (against the \
         floor measured in that same run), then the median taken. Method per row: \
         `bench/README.md`.\n",
        ctx.runs
    );
    let _ = writeln!(
        out,
        "| id | measure | value | floor / peer | ratio | target | result |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for r in rows {
        let ratio = r.ratio.map_or_else(|| "—".into(), |x| format!("{x:.2}×"));
        let verdict = match r.verdict() {
            Verdict::Met => "met",
            Verdict::Missed => "**missed**",
            Verdict::Reported => "—",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.id, r.measure, r.value, r.floor, ratio, r.target.text, verdict
        );
    }
    out
}
