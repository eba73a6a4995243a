//! The answer to a request no route takes: 405 with an `Allow` header when its path is one the
//! OpenAPI document declares (with other methods), 404 otherwise, both in the error format.
//!
//! The methods come from the document itself (every `#[utoipa::path]`), so the `Allow`
//! header can't drift from what the server declares; a contract test checks the document
//! against the routes.

use std::sync::LazyLock;

use actix_web::{HttpRequest, HttpResponse, ResponseError, http::header};
use chrono::Utc;
use utoipa::OpenApi;

use bacowr_shared::error::ErrorCode;

use crate::{
    error::{ApiError, ErrorBody},
    openapi::{ApiDoc, operations},
    request_id,
};

/// A path template of the document, split into segments (`None`: a `{parameter}`), with the
/// methods it declares.
struct Template {
    segments: Vec<Option<String>>,
    methods: Vec<&'static str>,
}

static TEMPLATES: LazyLock<Vec<Template>> = LazyLock::new(|| {
    let mut doc = ApiDoc::openapi();
    doc.paths
        .paths
        .iter_mut()
        .map(|(path, item)| Template {
            segments: path
                .split('/')
                .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
                .collect(),
            methods: operations(item).into_iter().map(|(m, _)| m).collect(),
        })
        .collect()
});

/// The methods the document declares for a request path, in the order GET, POST, PUT, PATCH,
/// DELETE; empty when no declared path matches it. A `{parameter}` matches one non-empty
/// segment.
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    let segments: Vec<&str> = path.split('/').collect();
    let mut methods: Vec<&'static str> = Vec::new();
    for template in TEMPLATES.iter() {
        let matches = template.segments.len() == segments.len()
            && template
                .segments
                .iter()
                .zip(&segments)
                .all(|(t, s)| t.as_deref().map_or(!s.is_empty(), |t| t == *s));
        if matches {
            for method in &template.methods {
                if !methods.contains(method) {
                    methods.push(method);
                }
            }
        }
    }
    const ORDER: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    methods.sort_by_key(|m| ORDER.iter().position(|o| o == m));
    methods
}

/// The app's default service.
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    let allowed = allowed_methods(req.path());
    if allowed.is_empty() {
        return ApiError::route_not_found().error_response();
    }
    let allow = allowed.join(", ");
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allow.clone()))
        .json(ErrorBody {
            detail: format!(
                "{} is not a method of this path; it takes {allow}",
                req.method()
            ),
            error_code: ErrorCode::MethodNotAllowed,
            field: Some("method".to_owned()),
            timestamp: Utc::now(),
            request_id: request_id::current().unwrap_or_default(),
            errors: Vec::new(),
            quota: None,
        })
}

#[cfg(test)]
mod tests {
    use super::allowed_methods;

    #[test]
    fn declared_paths_list_their_methods() {
        assert_eq!(allowed_methods("/api/v1/batches"), ["GET", "POST"]);
        assert_eq!(allowed_methods("/health"), ["GET"]);
        assert_eq!(
            allowed_methods("/api/v1/webhooks/wh_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e"),
            ["GET", "PATCH", "DELETE"]
        );
        assert_eq!(allowed_methods("/api/v1/batches/anything/jobs"), ["GET"]);
    }

    #[test]
    fn other_paths_match_nothing() {
        for path in [
            "/",
            "/nope",
            "/health/",
            "/api/v1/batches/",
            "/api/v1/batches//jobs",
            "/api/v1/batches/x/y/z",
        ] {
            assert!(allowed_methods(path).is_empty(), "{path}");
        }
    }
}
