//! Batch-level options: the QC profile with its overrides, and a default language.

use serde::Deserialize;
use serde_json::{Map, Value};

use bacowr_shared::{
    domain::Language,
    qc::{self, QcThresholds},
};

use crate::error::FieldError;

/// As submitted, before validation.
#[derive(Debug, Default)]
pub struct RawOptions {
    pub profile: Option<String>,
    pub overrides: Option<Map<String, Value>>,
    pub default_language: Option<String>,
    pub providers: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct BatchOptions {
    pub qc_profile: String,
    pub qc_thresholds: QcThresholds,
    pub default_language: Option<Language>,
    /// Deployments this batch may use, in order; `None`: the configured chain.
    pub providers: Option<Vec<String>>,
}

/// `qc` in a JSON submission.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct QcInput {
    /// `standard` (default) or `long_form`.
    #[schema(schema_with = crate::openapi::schemas::qc_profile_or_null, example = "standard")]
    pub profile: Option<String>,
    /// Any thresholds of the profile to change for this batch, e.g. `{"min_words": 700}`.
    #[schema(value_type = Option<Object>, example = json!({"max_words": 950, "max_regenerations": 1}))]
    pub overrides: Option<Map<String, Value>>,
}

fn error(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
        row: None,
        line: None,
    }
}

impl RawOptions {
    /// Reads `qc` and `default_language` from a JSON submission's root object.
    pub fn from_json(root: &mut Map<String, Value>, errors: &mut Vec<FieldError>) -> Self {
        let mut raw = RawOptions::default();
        match root.remove("qc") {
            None | Some(Value::Null) => {}
            Some(Value::Object(mut qc)) => {
                match qc.remove("profile") {
                    None | Some(Value::Null) => {}
                    Some(Value::String(p)) => raw.profile = Some(p),
                    Some(_) => errors.push(error("qc.profile", "must be a string")),
                }
                match qc.remove("overrides") {
                    None | Some(Value::Null) => {}
                    Some(Value::Object(o)) => raw.overrides = Some(o),
                    Some(_) => {
                        errors.push(error("qc.overrides", "must be an object of thresholds"))
                    }
                }
                for key in qc.keys() {
                    errors.push(error(
                        format!("qc.{key}"),
                        "is not a QC setting (profile, overrides)",
                    ));
                }
            }
            Some(_) => errors.push(error("qc", "must be an object {profile?, overrides?}")),
        }
        match root.remove("default_language") {
            None | Some(Value::Null) => {}
            Some(Value::String(l)) => raw.default_language = Some(l),
            Some(_) => errors.push(error("default_language", "must be a string")),
        }
        match root.remove("providers") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                raw.providers = Some(
                    items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                );
            }
            Some(_) => errors.push(error("providers", "must be an array of deployment names")),
        }
        raw
    }

    /// `providers=claude,gpt` from a query string.
    pub fn providers_from_query(value: Option<&str>) -> Option<Vec<String>> {
        value.map(|v| {
            v.split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect()
        })
    }

    /// Checks everything against the profiles and the configured deployments (`known`).
    pub fn resolve(self, known: &[String], errors: &mut Vec<FieldError>) -> Option<BatchOptions> {
        let providers = match self.providers {
            None => Some(None),
            Some(list) if list.is_empty() => {
                errors.push(error("providers", "must name at least one deployment"));
                None
            }
            Some(list) => {
                let unknown: Vec<&String> = list.iter().filter(|p| !known.contains(p)).collect();
                if unknown.is_empty() {
                    Some(Some(list))
                } else {
                    errors.push(error(
                        "providers",
                        format!(
                            "unknown deployment(s) {unknown:?}; configured: {}",
                            known.join(", ")
                        ),
                    ));
                    None
                }
            }
        };
        let default_language = match self.default_language.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(l) => match Language::parse(l) {
                Ok(l) => Some(Some(l)),
                Err(m) => {
                    errors.push(error("default_language", m));
                    None
                }
            },
        };
        let resolved = match qc::resolve(self.profile.as_deref(), self.overrides.as_ref()) {
            Ok(r) => Some(r),
            Err(bad) => {
                errors.extend(bad.into_iter().map(|e| error(e.field, e.message)));
                None
            }
        };
        let (qc_profile, qc_thresholds) = resolved?;
        Some(BatchOptions {
            qc_profile,
            qc_thresholds,
            default_language: default_language?,
            providers: providers?,
        })
    }
}
