//! The CLI's client against `openapi/openapi.json`: every route it calls exists, and every
//! field it reads is in the schema (and required, unless the CLI treats it as optional).

use bacowr_cli::client::{ROUTES, models};
use serde_json::Value;

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("read openapi.json"))
        .expect("openapi.json is JSON")
}

#[test]
fn every_route_the_client_calls_is_in_the_spec() {
    let doc = document();
    for (method, path) in ROUTES {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not in openapi/openapi.json"
        );
    }
}

#[test]
fn every_model_field_matches_its_schema() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    for (schema, fields) in models::all() {
        let s = &schemas[schema];
        assert!(s.is_object(), "schema {schema} is not in the spec");
        let required: Vec<&str> = s["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (field, ty) in fields {
            assert!(
                s["properties"][field].is_object(),
                "{schema}.{field}: the CLI reads a field the spec does not have"
            );
            if !ty.starts_with("Option") {
                assert!(
                    required.contains(field),
                    "{schema}.{field}: the CLI needs it but the spec does not require it"
                );
            }
        }
    }
}

#[test]
fn export_formats_match_the_spec() {
    let doc = document();
    let formats: Vec<&str> = doc["components"]["schemas"]["Format"]["enum"]
        .as_array()
        .expect("Format enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(formats, bacowr_cli::client::EXPORT_FORMATS);
}
