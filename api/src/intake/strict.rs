//! Every JSON request body is read here, for every route: it must be one JSON object, no key
//! may appear twice in an object (the last would silently win), and no string may hold a
//! control character. Postgres cannot store U+0000 at all, and the other C0 controls are never
//! meant in names, URLs, anchors or notes; tab, line feed and carriage return are allowed.
//! A refusal names the field (`links[3].target_url`).
//!
//! [`StrictJson`] is the extractor routes take instead of `web::Json`.

use std::{fmt, future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::{
    error::{ApiError, FieldError},
    routes::body::{is_json, media_type, read_limited},
    state::AppState,
};

/// The marker that carries a duplicate key's path out through serde's error text.
const DUPLICATE: &str = "duplicate key at ";

/// Parses `body` as a JSON object under the rules above.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    // Files saved by Windows tools often start with a UTF-8 byte-order mark.
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Seed {
        path: String::new(),
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v))
    .map_err(|e| {
        let text = e.to_string();
        match text.strip_prefix(DUPLICATE) {
            Some(rest) => {
                let field = rest.split(" at line").next().unwrap_or(rest).to_owned();
                ApiError::bad_request(
                    field.clone(),
                    format!("`{field}` appears twice; send each key once"),
                )
            }
            None => ApiError::bad_request("body", format!("the body is not valid JSON: {e}")),
        }
    })?;
    let Value::Object(map) = value else {
        return Err(ApiError::bad_request(
            "body",
            "the body must be a JSON object, not an array or a bare value",
        ));
    };
    let mut errors = Vec::new();
    for (k, v) in &map {
        check(k, v, &mut errors);
    }
    if errors.is_empty() {
        Ok(map)
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Why `text` can't be stored, if it holds a control character other than tab, LF or CR.
pub fn control_character(text: &str) -> Option<String> {
    text.chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        .map(|c| {
            format!(
                "contains the control character U+{:04X}; remove it (tab and line breaks are fine)",
                c as u32
            )
        })
}

fn check(path: &str, value: &Value, errors: &mut Vec<FieldError>) {
    match value {
        Value::String(s) => {
            if let Some(message) = control_character(s) {
                errors.push(FieldError {
                    field: path.to_owned(),
                    message,
                    row: None,
                    line: None,
                });
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                check(&format!("{path}[{i}]"), v, errors);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let child = format!("{path}.{k}");
                if let Some(message) = control_character(k) {
                    errors.push(FieldError {
                        field: child.clone(),
                        message: format!("a key that {message}"),
                        row: None,
                        line: None,
                    });
                }
                check(&child, v, errors);
            }
        }
        _ => {}
    }
}

/// A JSON value that refuses duplicate keys, knowing where it is.
struct Seed {
    path: String,
}

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(Seed {
            path: format!("{}[{}]", self.path, items.len()),
        })? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("{DUPLICATE}{path}")));
            }
            let value = map.next_value_seed(Seed { path })?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// A JSON request body, read under the rules above and then deserialized into `T` (whose own
/// `deny_unknown_fields` and types still apply).
pub struct StrictJson<T>(pub T);

impl<T> StrictJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for StrictJson<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// `T` from an object already read by [`parse_object`].
pub fn from_object<T: DeserializeOwned>(map: Map<String, Value>) -> Result<T, ApiError> {
    T::deserialize(Value::Object(map))
        .map_err(|e| ApiError::bad_request("body", format!("invalid JSON body: {e}")))
}

impl<T: DeserializeOwned + 'static> FromRequest for StrictJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = web::Payload::from_request(&req, payload).into_inner();
        Box::pin(async move {
            let payload = payload.map_err(|e| ApiError::bad_request("body", e.to_string()))?;
            let media = media_type(&req);
            if !is_json(&media) {
                return Err(ApiError::unsupported_media_type(&media));
            }
            let limit = req
                .app_data::<web::Data<AppState>>()
                .map_or(256 * 1024, |s| s.settings.api.max_body_bytes);
            let body = read_limited(&req, payload, limit).await?;
            from_object(parse_object(&body)?).map(StrictJson)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Probe {
        #[allow(dead_code)]
        name: String,
    }

    #[test]
    fn objects_only_each_key_once_no_controls() {
        assert!(parse_object(br#"{"name": "ok\ttab\nline"}"#).is_ok());
        let e = parse_object(br#"["name", 7]"#).unwrap_err();
        assert_eq!(
            e.detail(),
            "the body must be a JSON object, not an array or a bare value"
        );
        let e = parse_object(br#"{"links": [], "links": [1]}"#).unwrap_err();
        assert!(
            e.detail().contains("`links` appears twice"),
            "{}",
            e.detail()
        );
        let e = parse_object(br#"{"a": {"b": 1, "b": 2}}"#).unwrap_err();
        assert!(e.detail().contains("`a.b`"), "{}", e.detail());
        let e = parse_object(br#"{"links": [{"target_url": "https://x.se/\u0000"}]}"#).unwrap_err();
        assert_eq!(
            e.status(),
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
        );
        assert!(from_object::<Probe>(parse_object(br#"{"name": "x"}"#).unwrap()).is_ok());
    }
}
