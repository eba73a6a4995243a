//! Swagger UI at `/docs`, over the document at `/api-docs/openapi.json`. The assets are
//! vendored (`api/static/swagger-ui`, swagger-ui-dist 5.35.0) and compiled in, so the page
//! works offline and needs no CDN.

use actix_web::{HttpResponse, get, http::header, web};

use crate::error::ApiError;

const INDEX: &str = include_str!("../static/swagger-ui/index.html");
const INITIALIZER: &str = include_str!("../static/swagger-ui/initializer.js");
const BUNDLE: &str = include_str!("../static/swagger-ui/swagger-ui-bundle.js");
const CSS: &str = include_str!("../static/swagger-ui/swagger-ui.css");
const FAVICON: &[u8] = include_bytes!("../static/swagger-ui/favicon-32x32.png");

/// Own scripts and styles only; Swagger UI sets inline styles and shows data: images.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

fn asset(content_type: &str, body: &'static [u8], cache: bool) -> HttpResponse {
    let mut resp = HttpResponse::Ok();
    resp.content_type(content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP));
    if cache {
        // The assets change only with the binary.
        resp.insert_header((header::CACHE_CONTROL, "public, max-age=86400"));
    }
    resp.body(body)
}

#[get("/docs")]
pub async fn index() -> HttpResponse {
    asset("text/html; charset=utf-8", INDEX.as_bytes(), false)
}

#[get("/docs/{file}")]
pub async fn file(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(match path.as_str() {
        "initializer.js" => asset(
            "text/javascript; charset=utf-8",
            INITIALIZER.as_bytes(),
            true,
        ),
        "swagger-ui-bundle.js" => asset("text/javascript; charset=utf-8", BUNDLE.as_bytes(), true),
        "swagger-ui.css" => asset("text/css; charset=utf-8", CSS.as_bytes(), true),
        "favicon-32x32.png" => asset("image/png", FAVICON, true),
        _ => return Err(ApiError::route_not_found()),
    })
}
