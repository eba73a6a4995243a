//! `bacowr review BATCH`: lists a batch's review items, or decides on them: by id, or every
//! pending item whose article passed QC.

use crate::{
    client::models::{BulkReviewBody, ReviewItemView},
    commands::{Remote, print_json},
    exit::CliError,
    summary::render,
};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("action").args(["approve", "approve_passing", "reject", "regenerate"])))]
pub struct ReviewArgs {
    /// The batch id (`batch_…`).
    pub batch: String,
    /// List only items in this review status: pending, approved, rejected, regenerating.
    #[arg(long, conflicts_with = "action")]
    pub status: Option<String>,
    /// Approve these items (ids `item_…`, space or comma separated).
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    pub approve: Vec<String>,
    /// Approve every pending item whose current article passed QC.
    #[arg(long)]
    pub approve_passing: bool,
    /// Reject these items.
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    pub reject: Vec<String>,
    /// Have these items written again, with --notes as the feedback.
    #[arg(long, num_args = 1.., value_delimiter = ',', requires = "notes")]
    pub regenerate: Vec<String>,
    /// The reviewer's notes, stored with the decision.
    #[arg(long)]
    pub notes: Option<String>,
    /// Print JSON instead of tables (for scripts).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: Remote,
}

fn list_table(items: &[ReviewItemView]) -> String {
    if items.is_empty() {
        return "no review items".to_owned();
    }
    let mut out = vec![format!(
        "{:<4} {:<38} {:<12} {:<9} {:>5}  {}",
        "row", "item", "status", "QC", "words", "publisher → anchor"
    )];
    for i in items {
        let qc = if i.qc.passed {
            "passed".to_owned()
        } else {
            format!("{} failed", i.qc.failed_checks)
        };
        out.push(format!(
            "{:<4} {:<38} {:<12} {:<9} {:>5}  {} → {}",
            i.row_index, i.id, i.status, qc, i.word_count, i.publisher_domain, i.anchor_text
        ));
    }
    out.join("\n")
}

pub async fn run(args: ReviewArgs) -> Result<(), CliError> {
    let client = args.remote.client()?;
    let (decision, ids) = if !args.approve.is_empty() {
        ("approve", Some(args.approve.clone()))
    } else if args.approve_passing {
        ("approve", None)
    } else if !args.reject.is_empty() {
        ("reject", Some(args.reject.clone()))
    } else if !args.regenerate.is_empty() {
        ("needs_regeneration", Some(args.regenerate.clone()))
    } else {
        let items = client.items(&args.batch, args.status.as_deref()).await?;
        return if args.json {
            print_json(&items)
        } else {
            crate::out!("{}", list_table(&items));
            Ok(())
        };
    };
    let body = BulkReviewBody {
        decision: decision.to_owned(),
        all_passing_qc: ids.is_none().then_some(true),
        item_ids: ids,
        notes: args.notes.clone(),
    };
    let result = client.review_bulk(&args.batch, &body).await?;
    if args.json {
        print_json(&result)?;
    } else {
        crate::out!(
            "{decision}: {} applied, {} refused",
            result.applied.len(),
            result.refused.len()
        );
        for r in &result.refused {
            crate::out!("  refused {} ({}): {}", r.item_id, r.status, r.detail);
        }
        let b = &result.batch;
        crate::out!(
            "{}",
            render(&[
                ("batch status", b.status.clone()),
                (
                    "review",
                    format!(
                        "pending {} · approved {} · rejected {} · regenerating {}",
                        b.review.pending,
                        b.review.approved,
                        b.review.rejected,
                        b.review.regenerating
                    ),
                ),
            ])
        );
    }
    if !result.refused.is_empty() {
        return Err(CliError::Refused(format!(
            "{} item(s) were not in a state to take this decision",
            result.refused.len()
        )));
    }
    Ok(())
}
