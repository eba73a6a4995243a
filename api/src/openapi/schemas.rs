//! Schemas of values the Rust type leaves open (a `String`) but the server takes or gives
//! from a closed set, for `#[schema(schema_with = …)]` and `#[param(schema_with = …)]`.

use utoipa::openapi::{Object, ObjectBuilder, Type, schema::SchemaType};

fn one_of(values: &[&str], description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

/// `GET /api/v1/me`: who the credential belongs to.
pub fn caller_kind() -> Object {
    one_of(
        &["user", "api_key"],
        "`user` (an access token) or `api_key`",
    )
}

/// An audit entry's kind.
pub fn audit_kind() -> Object {
    one_of(
        &["request", "security"],
        "`request` (a mutating request) or `security` (a security event)",
    )
}

/// The QC profiles (`bacowr_shared::qc::profile_names`).
pub const QC_PROFILES: [&str; 2] = ["standard", "long_form"];

/// `?qc_profile=`.
pub fn qc_profile() -> Object {
    one_of(&QC_PROFILES, "The QC profile; `standard` by default")
}

/// `qc.profile` of a JSON submission, where `null` means the default.
pub fn qc_profile_or_null() -> Object {
    let mut schema = qc_profile();
    schema.schema_type = SchemaType::from_iter([Type::String, Type::Null]);
    schema
        .enum_values
        .get_or_insert_with(Vec::new)
        .push(serde_json::Value::Null);
    schema
}

/// `?qc=` of the review item list.
pub fn qc_filter() -> Object {
    one_of(
        &["passed", "failed"],
        "Only items whose current version `passed` or `failed` QC",
    )
}

/// `?sort=` of the review item list.
pub fn item_sort() -> Object {
    one_of(
        &["qc", "row"],
        "`qc` (default): most failed QC checks first, then sheet order; `row`: sheet order",
    )
}

/// A recorded review decision: a reviewer's, or the worker's when a regeneration ends.
pub fn decision_record() -> Object {
    one_of(
        &[
            "approve",
            "reject",
            "needs_regeneration",
            "regenerated",
            "regeneration_failed",
        ],
        "A reviewer's decision, or the worker's: `regenerated` (the new version arrived) or \
         `regeneration_failed` (the regeneration produced none)",
    )
}

/// The token type of `Tokens`.
pub fn bearer() -> Object {
    one_of(&["Bearer"], "Always `Bearer`")
}
