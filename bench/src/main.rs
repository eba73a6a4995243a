//! `bacowr-bench [all|p1|p2|p3|p4|p5|p6 …] [--runs N] [--quick] [--out FILE]`: runs the
//! benchmarks of bench/README.md against release binaries built beside it, on this machine's
//! Postgres and Redis (a scratch database and namespace per run, removed afterwards), and
//! writes the results table. `--quick` is the smoke run CI may do: tiny sizes, one run.
//! `bacowr-bench constant-server PORT` is P2's peer, started by P2 itself.

mod env;
mod load;
mod p1;
mod p2;
mod p3;
mod p4;
mod p5;
mod p6;
mod report;
mod stats;

use std::time::Instant;

use env::BoxError;
use report::{Context, Row, Verdict};

const ALL: [&str; 6] = ["p1", "p2", "p3", "p4", "p5", "p6"];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("constant-server") {
        let port = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(8099);
        if let Err(e) = load::serve_constant(port) {
            eprintln!("constant-server: {e}");
            std::process::exit(1);
        }
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    std::process::exit(runtime.block_on(cli(args)));
}

async fn cli(args: Vec<String>) -> i32 {
    let mut which: Vec<String> = Vec::new();
    let mut runs = 3usize;
    let mut quick = false;
    let mut out = "bench/RESULTS.md".to_owned();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = it.next().and_then(|v| v.parse().ok()).unwrap_or(runs),
            "--quick" => quick = true,
            "--out" => out = it.next().cloned().unwrap_or(out),
            "all" => which.extend(ALL.iter().map(|s| (*s).to_owned())),
            p if ALL.contains(&p) => which.push(p.to_owned()),
            "-h" | "--help" => {
                println!("usage: bacowr-bench [all|p1..p6 …] [--runs N] [--quick] [--out FILE]");
                return 0;
            }
            "-V" | "--version" => {
                println!("bacowr-bench {}", env!("CARGO_PKG_VERSION"));
                return 0;
            }
            other => {
                eprintln!("bacowr-bench: unknown argument {other:?} (see --help)");
                return 2;
            }
        }
    }
    if which.is_empty() {
        which.extend(ALL.iter().map(|s| (*s).to_owned()));
    }
    if quick {
        runs = 1;
    }
    let started = chrono::Utc::now();
    let clock = Instant::now();
    let mut rows: Vec<Row> = Vec::new();
    for p in &which {
        eprintln!("==> {p}");
        let result: Result<Vec<Row>, BoxError> = match p.as_str() {
            "p1" => p1::run(runs, quick).await,
            "p2" => p2::run(runs, quick).await,
            "p3" => p3::run(runs, quick).await,
            "p4" => p4::run(runs, quick).await,
            "p5" => p5::run(runs, quick).await,
            "p6" => p6::run(runs, quick).await,
            _ => unreachable!("checked above"),
        };
        match result {
            Ok(r) => rows.extend(r),
            Err(e) => {
                eprintln!("bacowr-bench: {p} failed: {e}");
                return 1;
            }
        }
    }
    let ctx = Context {
        command: std::iter::once("bacowr-bench".to_owned())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
        runs,
        started,
        seconds: clock.elapsed().as_secs_f64(),
    };
    let table = report::markdown(&rows, &ctx);
    print!("{table}");
    if let Err(e) = std::fs::write(&out, &table) {
        eprintln!("bacowr-bench: writing {out}: {e}");
        return 1;
    }
    let missed = rows
        .iter()
        .filter(|r| r.verdict() == Verdict::Missed)
        .count();
    eprintln!("wrote {out}; {missed} target(s) missed");
    0
}
