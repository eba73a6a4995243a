//! The guarded fetcher against a local fixture site: the SSRF guard (IP literals, names that
//! resolve to private space, redirects into it), redirect limits, HTML-only, extraction.

use bacowr_shared::config::{ContextSettings, Settings};
use bacowr_worker::context::{Fetcher, fetch::FetchError};
use llm_sim::spawn_site;

fn settings(allow: &[&str]) -> ContextSettings {
    let mut s = Settings::from_figment(Settings::figment(None))
        .unwrap()
        .context;
    s.allow_hosts = allow.iter().map(|a| a.to_string()).collect();
    s.connect_timeout_ms = 1000;
    s
}

fn refused(result: Result<impl Sized, FetchError>) -> bool {
    matches!(result, Err(FetchError::Refused(_)))
}

#[tokio::test]
async fn the_guard_refuses_private_space() {
    let site = spawn_site().await.unwrap();
    let port = site.addr.port();
    let fetcher = Fetcher::new(&settings(&[])).unwrap();
    for url in [
        site.url("/page/bikes"),
        format!("http://[::1]:{port}/page/bikes"),
        "http://10.0.0.1/".to_owned(),
        "http://192.168.1.1/admin".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[::ffff:127.0.0.1]/".to_owned(),
        // A name that resolves to loopback is refused after resolution.
        format!("http://localhost:{port}/page/bikes"),
    ] {
        assert!(refused(fetcher.page(&url).await), "{url} must be refused");
        assert!(refused(fetcher.probe(&url).await), "{url} must be refused");
    }
    assert!(matches!(
        fetcher.page("ftp://example.com/x").await,
        Err(FetchError::BadUrl(_))
    ));
    site.shutdown();
}

#[tokio::test]
async fn redirects_are_checked_at_every_hop() {
    let site = spawn_site().await.unwrap();
    let port = site.addr.port();
    // Only 127.0.0.1 itself is allowed: a redirect to another private address is refused.
    let fetcher = Fetcher::new(&settings(&["127.0.0.1/32"])).unwrap();
    let ok = fetcher
        .page(&site.url("/redirect?to=/page/bikes"))
        .await
        .unwrap();
    assert!(ok.final_url.path().ends_with("/page/bikes"));
    for target in [
        format!("http://127.0.0.2:{port}/page/bikes"),
        format!("http://[::1]:{port}/page/bikes"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
    ] {
        let url = site.url(&format!("/redirect?to={target}"));
        assert!(
            refused(fetcher.page(&url).await),
            "redirect to {target} must be refused"
        );
    }
    let deep = "/redirect?to=".repeat(6) + "/page/bikes";
    assert!(matches!(
        fetcher.page(&site.url(&deep)).await,
        Err(FetchError::TooManyRedirects(5))
    ));
    let five = "/redirect?to=".repeat(5) + "/page/bikes";
    assert!(
        fetcher.page(&site.url(&five)).await.is_ok(),
        "five redirects are fine"
    );
    site.shutdown();
}

#[tokio::test]
async fn pages_only_html_and_capped() {
    let site = spawn_site().await.unwrap();
    let fetcher = Fetcher::new(&settings(&["127.0.0.0/8", "::1"])).unwrap();
    assert!(matches!(
        fetcher.page(&site.url("/file.pdf")).await,
        Err(FetchError::NotHtml(_))
    ));
    assert!(matches!(
        fetcher.page(&site.url("/status/404")).await,
        Err(FetchError::Status(404))
    ));
    assert_eq!(fetcher.probe(&site.url("/source/x")).await.unwrap(), 200);
    assert_eq!(fetcher.probe(&site.url("/status/410")).await.unwrap(), 410);

    let mut small = settings(&["127.0.0.0/8"]);
    small.max_body_bytes = 300;
    let capped = Fetcher::new(&small)
        .unwrap()
        .page(&site.url("/page/bikes"))
        .await
        .unwrap();
    assert_eq!(capped.html.len(), 300);
    site.shutdown();
}

#[tokio::test]
async fn unreachable_hosts_are_reported_not_hung() {
    let fetcher = Fetcher::new(&settings(&[])).unwrap();
    let started = std::time::Instant::now();
    let result = fetcher.page("http://no-such-host.invalid/page").await;
    assert!(
        matches!(
            result,
            Err(FetchError::Network(_)) | Err(FetchError::Refused(_))
        ),
        "{:?}",
        result.err()
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
}

#[tokio::test]
async fn fetched_pages_are_summarised() {
    let site = spawn_site().await.unwrap();
    let fetcher = Fetcher::new(&settings(&["127.0.0.0/8", "::1"])).unwrap();
    let page = fetcher
        .page(&site.url("/page/city-bikes?lang=sv-SE"))
        .await
        .unwrap();
    let summary = bacowr_worker::context::extract::summarise(&page.html, &page.final_url);
    assert_eq!(summary.title.as_deref(), Some("city bikes | Client shop"));
    assert_eq!(summary.h1.as_deref(), Some("city bikes"));
    assert_eq!(summary.headings, ["Why city bikes matters", "How we test"]);
    assert_eq!(summary.language.as_deref(), Some("sv"));
    assert!(
        summary
            .description
            .unwrap()
            .contains("compared and explained")
    );
    assert!(summary.excerpt.starts_with("Our guide to city bikes"));
    let port = site.addr.port();
    assert!(
        summary
            .outbound_links
            .contains(&format!("http://localhost:{port}/source/city-bikes-study"))
    );
    site.shutdown();
}
