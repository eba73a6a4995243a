//! Exports of approved items: every format opened and checked, only approved items in them,
//! paging across many items, and the refusals (409, 404, 400).

use std::io::{Cursor, Read};

use chrono::Utc;
use reqwest::StatusCode;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde_json::Value;
use uuid::Uuid;

use bacowr_shared::{
    domain::ReviewStatus,
    entities::{article, job, review_item},
    ids::BatchId,
};

use crate::helpers::{TestApp, assert_error, batch_body, spawn_sim};

/// Puts every job of the batch that has an article under review with the status `decide`
/// gives its row, pointing at the job's latest article. Stands in for the review routes (the
/// lead's work in progress): switch it to `POST .../items/{id}/review` once they exist. An
/// item the worker already created is updated instead.
pub async fn review_batch(app: &TestApp, batch_id: &str, decide: impl Fn(i32) -> ReviewStatus) {
    let batch = BatchId::parse(batch_id).unwrap().uuid();
    let jobs = job::Entity::find()
        .filter(job::Column::BatchId.eq(batch))
        .order_by_asc(job::Column::RowIndex)
        .all(&app.db)
        .await
        .unwrap();
    let now = Utc::now();
    for j in jobs {
        let Some(latest) = article::Entity::find()
            .filter(article::Column::JobId.eq(j.id))
            .order_by_desc(article::Column::Version)
            .one(&app.db)
            .await
            .unwrap()
        else {
            continue;
        };
        let status = decide(j.row_index);
        let existing = review_item::Entity::find()
            .filter(review_item::Column::JobId.eq(j.id))
            .one(&app.db)
            .await
            .unwrap();
        let failed_checks = latest
            .qc_report
            .as_ref()
            .and_then(|r| r["checks"].as_array())
            .map_or(0, |c| {
                c.iter().filter(|c| c["passed"] == false).count() as i32
            });
        // Items the worker made are decided through the review route, as a reviewer would;
        // rows seeded straight into the database get their item the same way.
        if let Some(item) = &existing {
            let decision = match status {
                ReviewStatus::Approved => "approve",
                ReviewStatus::Rejected => "reject",
                _ => continue,
            };
            let resp = app
                .post_json(
                    &format!(
                        "/api/v1/batches/{batch_id}/items/{}/review",
                        bacowr_shared::ids::ReviewItemId::from_uuid(item.id)
                    ),
                    &serde_json::json!({"decision": decision, "notes": "looks good"}),
                )
                .await;
            assert_eq!(resp.status(), StatusCode::OK);
            continue;
        }
        let is_new = existing.is_none();
        let mut item = match existing {
            Some(item) => item.into_active_model(),
            None => review_item::ActiveModel {
                id: Set(Uuid::now_v7()),
                org_id: Set(j.org_id),
                batch_id: Set(j.batch_id),
                job_id: Set(j.id),
                row_index: Set(j.row_index),
                regenerations: Set(0),
                created_at: Set(now),
                ..Default::default()
            },
        };
        item.article_id = Set(latest.id);
        item.article_version = Set(latest.version);
        item.status = Set(status);
        item.qc_passed = Set(latest.qc_passed);
        item.qc_failed_checks = Set(failed_checks);
        item.qc_report = Set(latest.qc_report.clone());
        item.notes = Set(Some("looks good".into()));
        item.reviewer = Set((status != ReviewStatus::Pending).then(|| "rita@agency.se".into()));
        item.reviewed_at = Set((status != ReviewStatus::Pending).then_some(now));
        item.updated_at = Set(now);
        if is_new {
            item.insert(&app.db).await.unwrap();
        } else {
            item.update(&app.db).await.unwrap();
        }
    }
}

pub fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a complete zip");
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            file.read_to_end(&mut data).unwrap();
            (file.name().to_owned(), data)
        })
        .collect()
}

async fn download(app: &TestApp, batch_id: &str, format: &str) -> (String, String, Vec<u8>) {
    let resp = app
        .get(&format!(
            "/api/v1/batches/{batch_id}/export?format={format}"
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{format}");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    // The same export as a file download (`download_batch_export`): same type, same name.
    let file = app
        .get(&format!("/api/v1/batches/{batch_id}/export/{format}"))
        .await;
    assert_eq!(file.status(), StatusCode::OK, "/export/{format}");
    for (name, want) in [
        ("content-type", &content_type),
        ("content-disposition", &disposition),
    ] {
        assert_eq!(
            file.headers().get(name).and_then(|v| v.to_str().ok()),
            Some(want.as_str()),
            "/export/{format} {name}"
        );
    }
    (
        content_type,
        disposition,
        resp.bytes().await.unwrap().to_vec(),
    )
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_format_carries_the_approved_articles_only() {
    let app =
        TestApp::spawn_with(|s| s.api.public_url = "https://bacowr.example.com/".into()).await;
    let sim = spawn_sim().await;
    let batch = app.submit_batch(3).await;
    let id = batch["id"].as_str().unwrap();
    app.drain_batch(id, &sim).await;
    sim.shutdown().await;
    // Row 2 (index 1) is rejected: it must appear nowhere.
    review_batch(&app, id, |row| {
        if row == 1 {
            ReviewStatus::Rejected
        } else {
            ReviewStatus::Approved
        }
    })
    .await;
    let jobs = app.get_json(&format!("/api/v1/batches/{id}/jobs")).await;
    let jobs = jobs["items"].as_array().unwrap();
    let mut full = Vec::new();
    for j in jobs {
        full.push(
            app.get_json(&format!("/api/v1/jobs/{}", j["id"].as_str().unwrap()))
                .await,
        );
    }
    let (first, third) = (&full[0], &full[2]);
    assert!(first["article"].is_object() && third["article"].is_object());
    let rejected_anchor = jobs[1]["anchor_text"].as_str().unwrap().to_owned();

    // JSON: everything, rows 1 and 3.
    let (ctype, disposition, bytes) = download(&app, id, "json").await;
    assert_eq!(ctype, "application/json");
    assert_eq!(
        disposition,
        format!("attachment; filename=\"{id}_json.json\"")
    );
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(doc["batch"]["id"], id);
    let items = doc["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{doc}");
    assert_eq!(items[0]["row"], 1);
    assert_eq!(items[1]["row"], 3);
    let item = &items[0];
    assert_eq!(item["job_id"], first["id"]);
    assert_eq!(item["link"]["anchor_text"], first["anchor_text"]);
    assert_eq!(item["review"]["status"], "approved");
    assert!(
        item["review"]["reviewer"]
            .as_str()
            .is_some_and(|r| r.starts_with("key_")),
        "the reviewer is the API key that decided: {item}"
    );
    assert_eq!(item["article"]["title"], first["article"]["title"]);
    assert_eq!(
        item["article"]["body_markdown"],
        first["article"]["body_markdown"]
    );
    assert_eq!(item["article"]["version"], first["article"]["version"]);
    assert_eq!(
        item["article"]["word_count"],
        first["article"]["word_count"]
    );
    assert!(item["qc"]["report"]["checks"].is_array(), "{item}");
    assert!(item["trust_links"].is_array(), "{item}");
    assert_eq!(item["cost_usd"], first["cost_usd"]);
    assert!(item["tokens_in"].as_i64().unwrap() > 0);
    let item_id = item["item_id"].as_str().unwrap();
    assert!(item_id.starts_with("item_"));
    assert_eq!(
        item["url"],
        format!("https://bacowr.example.com/api/v1/batches/{id}/items/{item_id}")
    );
    assert!(!String::from_utf8_lossy(&bytes).contains(&rejected_anchor));

    // CSV: a header and one parsed row per approved link.
    let (ctype, disposition, bytes) = download(&app, id, "csv").await;
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    assert_eq!(
        disposition,
        format!("attachment; filename=\"{id}_csv.csv\"")
    );
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "row",
            "publisher_domain",
            "target_url",
            "anchor_text",
            "language",
            "title",
            "word_count",
            "qc_passed",
            "deployment",
            "provider",
            "model",
            "cost_usd",
            "article_url"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    for (row, (number, full)) in rows.iter().zip([(1, first), (3, third)]) {
        assert_eq!(&row[0], number.to_string());
        assert_eq!(&row[1], full["publisher_domain"].as_str().unwrap());
        assert_eq!(&row[2], full["target_url"].as_str().unwrap());
        assert_eq!(&row[3], full["anchor_text"].as_str().unwrap());
        assert_eq!(&row[5], full["article"]["title"].as_str().unwrap());
        assert_eq!(&row[6], full["article"]["word_count"].to_string());
        assert_eq!(&row[7], full["article"]["qc_passed"].to_string());
        assert_eq!(&row[8], full["article"]["deployment"].as_str().unwrap());
        assert_eq!(&row[9], full["article"]["provider"].as_str().unwrap());
        assert_eq!(&row[10], full["article"]["model"].as_str().unwrap());
        let cost: f64 = row[11].parse().unwrap();
        assert!((cost - full["cost_usd"].as_f64().unwrap()).abs() < 1e-9);
        assert!(
            row[12].starts_with(&format!(
                "https://bacowr.example.com/api/v1/batches/{id}/items/item_"
            )),
            "{row:?}"
        );
    }

    // Markdown: NN_publisher_titleslug.md with front matter and the anchor link.
    let (ctype, disposition, bytes) = download(&app, id, "markdown").await;
    assert_eq!(ctype, "application/zip");
    assert_eq!(
        disposition,
        format!("attachment; filename=\"{id}_markdown.zip\"")
    );
    let files = unzip(&bytes);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names[0].starts_with("01_blogg0.se_") && names[0].ends_with(".md"),
        "{names:?}"
    );
    assert!(names[1].starts_with("03_news2.com_"), "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.is_ascii() && !n.contains(' ') && n.len() < 140),
        "{names:?}"
    );
    let md = text(&files[0].1);
    let anchor = first["anchor_text"].as_str().unwrap();
    let target = first["target_url"].as_str().unwrap();
    assert!(md.starts_with("---\ntitle: "), "{md}");
    assert!(md.contains(&format!("anchor: \"{anchor}\"")), "{md}");
    assert!(md.contains(&format!("target: \"{target}\"")), "{md}");
    assert!(md.contains("meta_description: "), "{md}");
    assert!(md.contains(&format!("[{anchor}]({target})")), "{md}");
    assert!(md.contains(&format!(
        "# {}",
        first["article"]["title"].as_str().unwrap()
    )));

    // HTML: full documents with the language, description and the link.
    let (_, _, bytes) = download(&app, id, "html").await;
    let files = unzip(&bytes);
    assert_eq!(files.len(), 2);
    assert!(files[0].0.starts_with("01_blogg0.se_") && files[0].0.ends_with(".html"));
    let html = text(&files[0].1);
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("<html lang=\"sv\">"), "{html}");
    assert!(
        html.contains("<meta name=\"description\" content=\""),
        "{html}"
    );
    assert!(
        html.contains(&format!("<a href=\"{target}\">{anchor}</a>")),
        "{html}"
    );
    assert!(html.trim_end().ends_with("</html>"));

    // docx: Word documents whose anchor is a real hyperlink to the target.
    let (_, _, bytes) = download(&app, id, "docx").await;
    let files = unzip(&bytes);
    assert_eq!(files.len(), 2);
    assert!(files[0].0.starts_with("01_blogg0.se_") && files[0].0.ends_with(".docx"));
    let parts = unzip(&files[0].1);
    let part = |name: &str| {
        text(
            &parts
                .iter()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("{name}"))
                .1,
        )
        .to_owned()
    };
    let document = part("word/document.xml");
    let rels = part("word/_rels/document.xml.rels");
    let title = first["article"]["title"].as_str().unwrap();
    assert!(document.contains(&xml_escape(title)), "title in {document}");
    assert!(document.contains(&xml_escape(anchor)), "anchor text");
    let rel_id = rels
        .split("<Relationship ")
        .find(|r| r.contains(&format!("Target=\"{}\"", xml_escape(target))))
        .and_then(|r| r.split("Id=\"").nth(1))
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no relationship to {target} in {rels}"));
    assert!(rels.contains("TargetMode=\"External\""), "{rels}");
    assert!(
        document.contains(&format!("<w:hyperlink r:id=\"{rel_id}\"")),
        "the anchor is a hyperlink: {document}"
    );
    // And docx-rs can read it back.
    let read = docx_rs::read_docx(&files[0].1).expect("a readable docx");
    assert!(!read.document.children.is_empty());
    app.cleanup().await;
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[tokio::test]
async fn refusals_name_what_is_wrong() {
    let app = TestApp::spawn().await;
    let batch = app.post_json("/api/v1/batches", &batch_body(2)).await;
    let batch: Value = batch.json().await.unwrap();
    let id = batch["id"].as_str().unwrap();

    let resp = app
        .get(&format!("/api/v1/batches/{id}/export?format=csv"))
        .await;
    let err = assert_error(resp, StatusCode::CONFLICT, "conflict", Some("status")).await;
    assert!(
        err["detail"]
            .as_str()
            .unwrap()
            .contains("no approved items"),
        "{err}"
    );

    let resp = app
        .get(&format!("/api/v1/batches/{id}/export?format=pdf"))
        .await;
    assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some("format")).await;
    let resp = app.get(&format!("/api/v1/batches/{id}/export/pdf")).await;
    assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some("format")).await;

    let other = app.other_org_key().await;
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/batches/{id}/export?format=json")))
        .bearer_auth(other)
        .send()
        .await
        .unwrap();
    assert_error(resp, StatusCode::NOT_FOUND, "not_found", None).await;

    let resp = app.get("/api/v1/batches/nope/export").await;
    assert_error(
        resp,
        StatusCode::BAD_REQUEST,
        "bad_request",
        Some("batch_id"),
    )
    .await;
    app.cleanup().await;
}

/// More approved items than one page: keyset paging keeps every item once, in sheet order,
/// and pending or rejected items stay out.
#[tokio::test]
async fn large_exports_page_through_every_item_in_order() {
    let app = TestApp::spawn().await;
    let org = crate::analytics::org_of(&app).await;
    let total = 130;
    let batch = crate::analytics::insert_batch(&app, org, total).await;
    let now = Utc::now();
    for row in 0..total {
        let j = crate::analytics::insert_job(
            &app,
            org,
            Some(batch),
            crate::analytics::JobSpec {
                row,
                publisher: &format!("pub{row}.se"),
                target: &format!("https://client.se/p/{row}"),
                status: bacowr_shared::domain::JobStatus::Succeeded,
                created: now,
                run_secs: Some(10),
            },
        )
        .await;
        crate::analytics::insert_article(&app, org, j, 1, 800, true, 0, &[]).await;
    }
    let id = BatchId::from_uuid(batch).to_string();
    // Every seventh row is rejected, every eleventh still pending.
    review_batch(&app, &id, |row| match row {
        r if r % 7 == 3 => ReviewStatus::Rejected,
        r if r % 11 == 5 => ReviewStatus::Pending,
        _ => ReviewStatus::Approved,
    })
    .await;
    let expected: Vec<i32> = (0..total)
        .filter(|r| r % 7 != 3 && r % 11 != 5)
        .map(|r| r + 1)
        .collect();
    assert!(expected.len() > 100, "more than two pages");

    let (_, _, bytes) = download(&app, &id, "csv").await;
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let rows: Vec<i32> = reader
        .records()
        .map(|r| r.unwrap()[0].parse().unwrap())
        .collect();
    assert_eq!(rows, expected);
    assert!(
        !any_absolute_url(&bytes),
        "article URLs are paths without api.public_url"
    );

    let (_, _, bytes) = download(&app, &id, "markdown").await;
    let files = unzip(&bytes);
    let numbers: Vec<i32> = files
        .iter()
        .map(|(name, _)| name[..3].parse().unwrap())
        .collect();
    assert_eq!(numbers, expected, "three-digit names in sheet order");
    assert_eq!(files[0].0, "001_pub0.se_article-for-row-0.md");
    app.cleanup().await;
}

/// Whether any article URL in the CSV is absolute.
fn any_absolute_url(csv: &[u8]) -> bool {
    let mut reader = csv::Reader::from_reader(csv);
    reader
        .records()
        .any(|r| !r.unwrap()[12].starts_with("/api/v1/batches/"))
}
