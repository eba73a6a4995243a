//! The demo's batch: the bundled example (or the user's CSV) as a JSON submission.

use crate::exit::CliError;

/// The bundled example: 175 assignments in ten languages, as an agency would send them.
pub const BATCH: &str = include_str!("../../../examples/batch-175.csv");

/// `,`, `;` or tab: whichever the header line has most of (spreadsheets in many locales
/// save with `;`), as the server's own CSV intake decides.
fn delimiter(csv: &str) -> u8 {
    let header = csv.lines().next().unwrap_or_default();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&d| header.bytes().filter(|&b| b == d).count())
        .filter(|&d| header.bytes().any(|b| b == d))
        .unwrap_or(b',')
}

/// The CSV's rows (up to `limit`) as a JSON submission. The demo sends JSON for one reason:
/// trust links come from the pages the worker fetches, and the example's real sites can't be
/// fetched offline, so the demo batch doesn't require them (`qc.overrides`).
pub fn submission(csv: &str, limit: Option<usize>) -> Result<serde_json::Value, CliError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(csv))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(csv.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| CliError::Input(format!("the CSV header: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let (Some(publisher), Some(target), Some(anchor)) = (
        column(&["publisher", "publisher_domain"]),
        column(&["target", "target_url"]),
        column(&["anchor", "anchor_text"]),
    ) else {
        return Err(CliError::Input(
            "the CSV needs the columns publisher, target and anchor".into(),
        ));
    };
    let language = column(&["language"]);
    let mut links = Vec::new();
    for (i, row) in reader.records().enumerate() {
        if limit.is_some_and(|n| links.len() >= n) {
            break;
        }
        let row = row.map_err(|e| CliError::Input(format!("CSV line {}: {e}", i + 2)))?;
        let cell = |c: usize| row.get(c).unwrap_or_default().to_owned();
        let mut link = serde_json::json!({
            "publisher_domain": cell(publisher),
            "target_url": cell(target),
            "anchor_text": cell(anchor),
        });
        if let Some(l) = language.map(cell).filter(|l| !l.is_empty()) {
            link["language"] = l.into();
        }
        links.push(link);
    }
    Ok(serde_json::json!({
        "name": "BACOWR demo",
        "links": links,
        "qc": { "overrides": { "min_trust_links": 0 } },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_example_has_175_links_in_ten_languages() {
        let body = submission(BATCH, None).unwrap();
        let links = body["links"].as_array().unwrap();
        assert_eq!(links.len(), 175);
        let mut languages: Vec<&str> = links
            .iter()
            .filter_map(|l| l["language"].as_str())
            .collect();
        languages.sort_unstable();
        languages.dedup();
        assert_eq!(languages.len(), 10, "{languages:?}");
        assert_eq!(
            submission(BATCH, Some(20)).unwrap()["links"]
                .as_array()
                .unwrap()
                .len(),
            20
        );
    }

    #[test]
    fn semicolons_and_a_bom_are_read_like_the_server_reads_them() {
        let body = submission(
            "\u{feff}Publisher;Target;Anchor\nbloggen.se;https://a.se/x;bästa, billigaste\n",
            None,
        )
        .unwrap();
        assert_eq!(body["links"][0]["anchor_text"], "bästa, billigaste");
        assert_eq!(body["links"][0]["publisher_domain"], "bloggen.se");
    }

    #[test]
    fn a_csv_without_the_columns_is_refused() {
        assert!(submission("a,b\n1,2\n", None).is_err());
    }
}
