//! A local stand-in for the web that BACOWR fetches: client pages with headings, text and
//! links to sources on another host, source pages that answer 200, redirects, errors and a
//! non-HTML file. Tests and demos point target URLs here instead of the internet.
//!
//! Routes (`{slug}` is free text):
//! - `/page/{slug}?lang=sv` an HTML page about `{slug}`, linking to two sources on the
//!   `localhost` host name (a different site from `127.0.0.1`); with `sources=dead` both
//!   sources answer 404, as a client page whose references have gone away;
//! - `/source/{slug}` a plain source page (200);
//! - `/redirect?to=URL` a 302 to URL; `/status/{code}` that status; `/file.pdf` a PDF;
//! - `/web/{scheme}/{host}/{path}` any page of the web, simulated (`context.simulate_web`):
//!   a page about the path's last segment (or the site's name), in the language its domain
//!   suggests, linking to two sources on other sites, which answer the same way;
//! - anything else 404.

use std::{convert::Infallible, net::SocketAddr};

use http_body_util::Full;
use hyper::{
    Request, Response, StatusCode,
    body::{Bytes, Incoming},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, task::JoinHandle};

pub struct SiteHandle {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl SiteHandle {
    /// `http://127.0.0.1:PORT{path}`
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.addr.port())
    }

    pub fn shutdown(self) {
        self.task.abort();
    }
}

pub async fn spawn_site() -> std::io::Result<SiteHandle> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(serve_site(listener));
    Ok(SiteHandle { addr, task })
}

/// Serves the site on `listener` until the process ends.
pub async fn serve_site(listener: TcpListener) {
    let Ok(addr) = listener.local_addr() else {
        return;
    };
    while let Ok((stream, _)) = listener.accept().await {
        let port = addr.port();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, port));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn html(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .body(Full::new(Bytes::from(body)))
        .expect("valid response")
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

async fn handle(req: Request<Incoming>, port: u16) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    if let Some(slug) = path.strip_prefix("/page/") {
        let lang = query_param(&query, "lang").unwrap_or("en");
        let topic = slug.replace(['-', '_'], " ");
        let source = match query_param(&query, "sources") {
            Some("dead") => "status/404?gone=",
            _ => "source/",
        };
        let body = format!(
            r#"<!doctype html><html lang="{lang}"><head><title>{topic} | Client shop</title>
<meta name="description" content="Everything about {topic}, compared and explained."></head>
<body><nav><a href="/">Home</a></nav><main><h1>{topic}</h1>
<h2>Why {topic} matters</h2><p>Our guide to {topic} covers prices, quality and service.</p>
<h3>How we test</h3><p>We compare {topic} over months of daily use, with sources such as
<a href="http://localhost:{port}/{source}{slug}-study">an independent study</a> and
<a href="http://localhost:{port}/{source}{slug}-survey">a consumer survey</a>.</p></main></body></html>"#
        );
        return Ok(html(StatusCode::OK, body));
    }
    if let Some(rest) = path.strip_prefix("/web/") {
        return Ok(html(StatusCode::OK, simulated_page(rest)));
    }
    if let Some(slug) = path.strip_prefix("/source/") {
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><title>Source: {slug}</title></head><body><p>Findings about {slug}.</p></body></html>"
        );
        return Ok(html(StatusCode::OK, body));
    }
    if path == "/redirect" {
        let to = query_param(&query, "to").unwrap_or("/");
        let to = to.replace("%3A", ":").replace("%2F", "/");
        return Ok(Response::builder()
            .status(StatusCode::FOUND)
            .header("location", to)
            .body(Full::new(Bytes::new()))
            .expect("valid response"));
    }
    if let Some(code) = path.strip_prefix("/status/") {
        let status = code
            .parse()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::OK);
        return Ok(html(status, "<p>status</p>".into()));
    }
    if path == "/file.pdf" {
        return Ok(Response::builder()
            .header("content-type", "application/pdf")
            .body(Full::new(Bytes::from_static(b"%PDF-1.4")))
            .expect("valid response"));
    }
    Ok(html(StatusCode::NOT_FOUND, "<p>not found</p>".into()))
}

/// The language a site's domain suggests; English where it says nothing.
fn domain_language(host: &str) -> &'static str {
    let tld = host.rsplit('.').next().unwrap_or_default();
    match tld {
        "se" => "sv",
        "de" | "at" => "de",
        "no" => "nb",
        "dk" => "da",
        "fi" => "fi",
        "fr" => "fr",
        "es" | "mx" | "ar" => "es",
        "it" => "it",
        "nl" => "nl",
        "pl" => "pl",
        "pt" | "br" => "pt",
        "cz" => "cs",
        "hu" => "hu",
        "ro" => "ro",
        "gr" => "el",
        "tr" => "tr",
        "ru" => "ru",
        "jp" => "ja",
        _ => "en",
    }
}

/// A plausible page for `{scheme}/{host}/{path}`: its topic from the path (or the site's
/// name), two sources on other sites.
fn simulated_page(rest: &str) -> String {
    let mut parts = rest.splitn(3, '/');
    let (_scheme, host, path) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let site = host.trim_start_matches("www.");
    let slug = path
        .rsplit('/')
        .find(|s| !s.is_empty())
        .map(|s| s.split('.').next().unwrap_or(s))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| site.split('.').next().unwrap_or("home"));
    let slug: String = slug
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    let topic = slug.replace('-', " ");
    let lang = domain_language(host);
    format!(
        r#"<!doctype html><html lang="{lang}"><head><title>{topic} | {site}</title>
<meta name="description" content="About {topic}, from {site}."></head>
<body><nav><a href="/">{site}</a></nav><main><h1>{topic}</h1>
<h2>What to know about {topic}</h2><p>{site} on {topic}: prices, quality and service.</p>
<h3>Sources</h3><p>See <a href="https://www.consumer-research.org/studies/{slug}">an independent
study</a> and <a href="https://www.statistics-office.org/data/{slug}">official figures</a>.</p>
</main></body></html>"#
    )
}
