//! What every operation of the document says the same way, added once instead of on each
//! route: the bearer scheme, the error answers each kind of operation can give (driven by the
//! access matrix and whether it takes a body), `Retry-After` on 429 and 503, one-line
//! summaries, and closed request schemas.

use std::collections::BTreeMap;

use utoipa::{
    Modify,
    openapi::{
        Content, Header, HeaderBuilder, ObjectBuilder, Ref, RefOr, Response, ResponseBuilder, Type,
        path::{Operation, PathItem},
        schema::{AdditionalProperties, Schema},
        security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme},
    },
};

use crate::access::{self, Access};

pub(super) struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key: `Authorization: Bearer bcw_…`. It holds the scopes it \
                         was created with.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "jwt",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A user's access token from `POST /api/v1/auth/login`: \
                         `Authorization: Bearer eyJ…`. It holds the scopes of the user's role \
                         (owner and admin: all; member: batches:read, batches:write, review).",
                    ))
                    .build(),
            ),
        );
        // Each operation's requirement comes from the one matrix the handlers are tested
        // against.
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in operations(item) {
                let Some(rule) = access::MATRIX
                    .iter()
                    .find(|r| r.path == path && r.method == method)
                else {
                    continue;
                };
                op.security = Some(match rule.access {
                    Access::Public => vec![SecurityRequirement::default()],
                    Access::Authenticated => vec![
                        SecurityRequirement::new::<_, [&str; 0], &str>("api_key", []),
                        SecurityRequirement::new::<_, [&str; 0], &str>("jwt", []),
                    ],
                    Access::Scope(s) => vec![
                        SecurityRequirement::new("api_key", [s.as_str()]),
                        SecurityRequirement::new("jwt", [s.as_str()]),
                    ],
                });
            }
        }
    }
}

/// What the document states once for every operation instead of in each handler's attribute,
/// derived from what answers those statuses, so that no operation can miss one:
///
/// - 401, 429 and 503 on every authenticated operation (the auth middleware reads the
///   credential from the database and charges the rate limits), 403 on every scoped one (the
///   `Authorized<…>` extractor), from the access matrix;
/// - 400, 413, 415 and 422 on every operation with a JSON body (`StrictJson` and the batch
///   intake: malformed JSON, the size limit, the media type, control characters);
/// - 500 and 503 on everything but the liveness and readiness probes, which state theirs;
/// - `Retry-After` on every 429 and 503;
/// - a one-line summary: the first sentence of the handler's doc comment, whose whole text
///   stays in the description.
///
/// A response an operation declares itself keeps its own, more specific description.
pub(super) struct Conventions;

const PROBES: [&str; 2] = ["/health", "/ready"];

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let probe = PROBES.contains(&path.as_str());
            for (method, op) in operations(item) {
                short_summary(op);
                let access = access::MATRIX
                    .iter()
                    .find(|r| r.path == path && r.method == method)
                    .map(|r| r.access);
                let json_body = op.request_body.as_ref().is_some_and(|b| match b {
                    RefOr::T(body) => body.content.contains_key("application/json"),
                    RefOr::Ref(_) => true,
                });
                let responses = &mut op.responses.responses;
                if json_body {
                    for (status, description) in BODY_ERRORS {
                        add_error(responses, status, description);
                    }
                }
                if matches!(access, Some(Access::Authenticated | Access::Scope(_))) {
                    for (status, description) in CALLER_ERRORS {
                        add_error(responses, status, description);
                    }
                }
                if let Some(Access::Scope(scope)) = access {
                    add_error(
                        responses,
                        403,
                        &format!(
                            "The credential lacks the `{scope}` scope: an API key created without \
                             it, or a user whose role doesn't grant it"
                        ),
                    );
                }
                if !probe {
                    add_error(responses, 500, INTERNAL);
                    add_error(responses, 503, UNAVAILABLE);
                }
                for status in ["429", "503"] {
                    if let Some(RefOr::T(response)) = responses.get_mut(status) {
                        response
                            .headers
                            .entry("Retry-After".to_owned())
                            .or_insert_with(|| RefOr::T(retry_after()));
                    }
                }
            }
        }
        strict_request_schemas(openapi);
    }
}

/// Every operation with a JSON body (`StrictJson`, or the batch and job intake).
const BODY_ERRORS: [(u16, &str); 4] = [
    (
        400,
        "Malformed body: not one JSON object, a key sent twice, an unknown or missing field, or a \
         value of the wrong type; `field` names it",
    ),
    (
        413,
        "The body is larger than the limit (`api.max_body_bytes`, 2 MiB by default)",
    ),
    (
        415,
        "The body is not JSON: a `Content-Type` other than `application/json` or `…+json`",
    ),
    (
        422,
        "A string holds a control character other than tab, line feed or carriage return; \
         `errors` names every such field",
    ),
];

/// Every authenticated operation: the auth middleware and the rate limits.
const CALLER_ERRORS: [(u16, &str); 2] = [
    (
        401,
        "No valid credential: the `Authorization: Bearer` API key or access token is missing, \
         malformed, unknown, expired or revoked, or the user is disabled",
    ),
    (
        429,
        "A rate limit is reached (the caller's or the organization's requests per minute); retry \
         after `Retry-After` seconds. `RateLimit-*` headers give the state of the budget",
    ),
];

const INTERNAL: &str = "Internal error, logged with the request id: quote `request_id` when \
                        reporting it";

const UNAVAILABLE: &str = "The database or Redis is unreachable; retry after `Retry-After` \
                           seconds";

/// Adds an error answer in the project's format unless the operation declares that status.
fn add_error(responses: &mut BTreeMap<String, RefOr<Response>>, status: u16, description: &str) {
    responses.entry(status.to_string()).or_insert_with(|| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                )
                .build(),
        )
    });
}

fn retry_after() -> Header {
    HeaderBuilder::new()
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
        ))
        .description(Some("Seconds to wait before retrying"))
        .build()
}

/// A summary is one line: the first sentence of the doc comment's first paragraph (cut at its
/// colon when that sentence is long). The full text stays in the description.
fn short_summary(op: &mut Operation) {
    let Some(first) = op.summary.take() else {
        return;
    };
    let flat = first.split_whitespace().collect::<Vec<_>>().join(" ");
    let sentence = flat
        .match_indices(". ")
        .map(|(i, _)| i)
        .find(|&i| !flat[..i].ends_with("e.g") && !flat[..i].ends_with("i.e"))
        .map_or(flat.as_str(), |i| &flat[..i]);
    let sentence = sentence.trim_end_matches('.');
    let summary = match sentence.split_once(": ") {
        Some((head, _)) if sentence.chars().count() > 80 => head,
        _ => sentence,
    };
    if summary.len() < flat.trim_end_matches('.').len() {
        op.description = Some(match op.description.take() {
            Some(rest) => format!("{first}\n\n{rest}"),
            None => first.clone(),
        });
    }
    op.summary = Some(summary.to_owned());
}

/// Request bodies the intake reads field by field refuse unknown fields (422) just as the
/// `deny_unknown_fields` ones do (400), which serde's derive can't tell the generator.
fn strict_request_schemas(openapi: &mut utoipa::openapi::OpenApi) {
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    for name in ["SubmitBatch", "LinkInput", "QcInput"] {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
            object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        }
    }
}

/// The operations of a path item with their upper-case methods.
pub fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("GET", item.get.as_mut()),
        ("POST", item.post.as_mut()),
        ("PUT", item.put.as_mut()),
        ("PATCH", item.patch.as_mut()),
        ("DELETE", item.delete.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
    .collect()
}
