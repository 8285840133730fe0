//! Reading JSON request bodies member by member, so that every problem is reported with its
//! field name (unknown members included) rather than as one serde message.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value};

use super::API_BODY_LIMIT;
use super::problem::{FieldError, Problem};

/// The body as a JSON object: `413` above the limit, `415` unless it is sent as JSON, `400`
/// when it does not parse, `422` when it is not an object.
pub(crate) fn json_object(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Map<String, Value>, Problem> {
    let bytes = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::too_large(API_BODY_LIMIT)
        } else {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                "Не удалось прочитать тело запроса",
            )
        }
    })?;
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
    if !json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Тело запроса должно быть JSON (Content-Type: application/json)",
        ));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Problem::validation(vec![FieldError {
            field: String::new(),
            code: "wrong_type",
            message: "Ожидался JSON-объект".into(),
        }])),
        Err(e) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("Тело запроса — не корректный JSON: {e}"),
        )),
    }
}

/// The members of one JSON object, taken one by one; problems pile up until [`Fields::finish`].
pub(crate) struct Fields {
    map: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Fields {
    /// Starts reading `map`; members not in `allowed` are reported as `unknown_field`.
    pub fn new(map: Map<String, Value>, allowed: &[&str]) -> Self {
        let mut errors = Vec::new();
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                errors.push(FieldError {
                    field: key.chars().take(100).collect(),
                    code: "unknown_field",
                    message: format!("Неизвестное поле; допустимы: {}", allowed.join(", ")),
                });
            }
        }
        Self { map, errors }
    }

    /// Reports a problem with `field`.
    pub fn error(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_owned(),
            code,
            message: message.into(),
        });
    }

    /// A string member: `None` when absent, `null` or (unless `required`) blank. Text is kept
    /// as sent, only NUL characters are refused.
    pub fn string(&mut self, name: &str, required: bool, max_chars: usize) -> Option<String> {
        match self.map.remove(name) {
            None | Some(Value::Null) => {
                if required {
                    self.error(name, "required", "Обязательное поле");
                }
                None
            }
            Some(Value::String(s)) => self.check_text(name, s, required, max_chars),
            Some(_) => {
                self.error(name, "wrong_type", "Ожидалась строка");
                None
            }
        }
    }

    fn check_text(
        &mut self,
        name: &str,
        s: String,
        required: bool,
        max_chars: usize,
    ) -> Option<String> {
        if s.trim().is_empty() {
            if required {
                self.error(name, "required", "Поле не должно быть пустым");
            }
            return None;
        }
        if s.contains('\0') {
            self.error(name, "invalid", "Текст содержит недопустимый символ NUL");
            return None;
        }
        let n = s.chars().count();
        if n > max_chars {
            self.error(
                name,
                "too_long",
                format!("Не длиннее {max_chars} символов (получено {n})"),
            );
            return None;
        }
        Some(s)
    }

    /// A list of strings (absent or `null` = empty).
    pub fn strings(&mut self, name: &str, max_items: usize, max_chars: usize) -> Vec<String> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                if items.len() > max_items {
                    self.error(name, "too_long", format!("Не больше {max_items} элементов"));
                    return Vec::new();
                }
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => {
                            if let Some(s) = self.check_text(name, s, true, max_chars) {
                                out.push(s);
                            }
                        }
                        _ => {
                            self.error(name, "wrong_type", "Ожидался список строк");
                            return Vec::new();
                        }
                    }
                }
                out
            }
            Some(_) => {
                self.error(name, "wrong_type", "Ожидался список строк");
                Vec::new()
            }
        }
    }

    /// `Err(422)` with every problem found, if any.
    pub fn finish(self) -> Result<(), Problem> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Problem::validation(self.errors))
        }
    }
}
