//! Payloads as files describe them, compiled once and filled per message: text with
//! placeholders (`payload = "..."`), a JSON template (`json = { ... }`, where a string that is
//! exactly one placeholder keeps its value's type), or binary fields (`binary = ["u8:1",
//! "u16:{seq}", "f32le:{temp}", "hex:00ff", "random:4", "text:{id}"]`).

use super::values::toml_to_json;
use crate::template::Template;
use serde_json::Value;

/// A JSON template: literal values, and strings with placeholders.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonTemplate {
    Literal(Value),
    /// A string that is exactly one placeholder: the value as it is (a number stays a number).
    Var(String),
    /// A string with placeholders among text: a JSON string.
    Text(Template),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
}

impl JsonTemplate {
    pub fn compile(value: &toml::Value) -> JsonTemplate {
        match value {
            toml::Value::String(text) => {
                let template = Template::parse(text);
                if let Some(name) = template.single() {
                    JsonTemplate::Var(name.to_string())
                } else if template.is_static() {
                    JsonTemplate::Literal(Value::String(text.clone()))
                } else {
                    JsonTemplate::Text(template)
                }
            }
            toml::Value::Array(items) => {
                JsonTemplate::Array(items.iter().map(JsonTemplate::compile).collect())
            }
            toml::Value::Table(table) => JsonTemplate::Object(
                table
                    .iter()
                    .map(|(k, v)| (k.clone(), JsonTemplate::compile(v)))
                    .collect(),
            ),
            other => JsonTemplate::Literal(toml_to_json(other)),
        }
    }

    pub fn names<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            JsonTemplate::Literal(_) => {}
            JsonTemplate::Var(name) => out.push(name),
            JsonTemplate::Text(t) => out.extend(t.names()),
            JsonTemplate::Array(items) => items.iter().for_each(|i| i.names(out)),
            JsonTemplate::Object(fields) => fields.iter().for_each(|(_, v)| v.names(out)),
        }
    }

    pub fn fill(&self, lookup: &mut dyn FnMut(&str) -> Option<Value>) -> Value {
        match self {
            JsonTemplate::Literal(v) => v.clone(),
            JsonTemplate::Var(name) => lookup(name).unwrap_or(Value::Null),
            JsonTemplate::Text(t) => Value::String(t.render(lookup)),
            JsonTemplate::Array(items) => {
                Value::Array(items.iter().map(|i| i.fill(lookup)).collect())
            }
            JsonTemplate::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.fill(lookup)))
                    .collect(),
            ),
        }
    }
}

/// One field of a binary payload.
#[derive(Debug, Clone, PartialEq)]
pub enum BinaryField {
    /// A number of `width` bytes (1, 2, 4, 8), integer or float, big- or little-endian.
    Number {
        width: u8,
        float: bool,
        signed: bool,
        little: bool,
        value: Template,
    },
    Bytes(Vec<u8>),
    Random(usize),
    Text(Template),
}

/// Reads one `type:value` field.
pub fn binary_field(text: &str) -> Result<BinaryField, String> {
    let (kind, value) = text.split_once(':').ok_or_else(|| {
        format!("'{text}' is not type:value (for example u16:{{seq}}, hex:00ff, random:4)")
    })?;
    let (base, little) = match kind.strip_suffix("le") {
        Some(base) => (base, true),
        None => (kind.strip_suffix("be").unwrap_or(kind), false),
    };
    let number = |width: u8, float: bool, signed: bool| {
        Ok(BinaryField::Number {
            width,
            float,
            signed,
            little,
            value: Template::parse(value),
        })
    };
    match base {
        "u8" => number(1, false, false),
        "i8" => number(1, false, true),
        "u16" => number(2, false, false),
        "i16" => number(2, false, true),
        "u32" => number(4, false, false),
        "i32" => number(4, false, true),
        "u64" => number(8, false, false),
        "i64" => number(8, false, true),
        "f32" => number(4, true, true),
        "f64" => number(8, true, true),
        "hex" => {
            let digits: String = value.chars().filter(|c| !c.is_whitespace()).collect();
            if digits.len() % 2 != 0 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!("'{value}' is not hex bytes (pairs of 0-9, a-f)"));
            }
            let bytes = (0..digits.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap_or(0))
                .collect();
            Ok(BinaryField::Bytes(bytes))
        }
        "random" => match value.trim().parse::<usize>() {
            Ok(n) if n <= 1 << 20 => Ok(BinaryField::Random(n)),
            _ => Err(format!("random:{value}: give a byte count up to 1048576")),
        },
        "text" => Ok(BinaryField::Text(Template::parse(value))),
        other => Err(format!(
            "unknown binary field type '{other}' (u8, i8, u16, i16, u32, i32, u64, i64, f32, f64 with an optional le/be suffix, hex, random, text)"
        )),
    }
}

/// How a message's payload is made.
#[derive(Debug, Clone, PartialEq)]
pub enum PayloadPlan {
    Empty,
    Text(Template),
    Json(JsonTemplate),
    Binary(Vec<BinaryField>),
}

impl PayloadPlan {
    /// The names its placeholders use.
    pub fn names(&self) -> Vec<&str> {
        let mut out = Vec::new();
        match self {
            PayloadPlan::Empty => {}
            PayloadPlan::Text(t) => out.extend(t.names()),
            PayloadPlan::Json(j) => j.names(&mut out),
            PayloadPlan::Binary(fields) => {
                for field in fields {
                    if let BinaryField::Number { value: t, .. } | BinaryField::Text(t) = field {
                        out.extend(t.names());
                    }
                }
            }
        }
        out
    }

    /// The payload bytes, appended to `out`.
    pub fn fill(
        &self,
        out: &mut Vec<u8>,
        rng: &mut fastrand::Rng,
        lookup: &mut dyn FnMut(&str) -> Option<Value>,
    ) {
        match self {
            PayloadPlan::Empty => {}
            PayloadPlan::Text(t) => {
                let mut text = String::new();
                t.render_into(&mut text, lookup);
                out.extend_from_slice(text.as_bytes());
            }
            PayloadPlan::Json(j) => {
                // Writing a Value into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, &j.fill(lookup));
            }
            PayloadPlan::Binary(fields) => {
                for field in fields {
                    match field {
                        BinaryField::Bytes(bytes) => out.extend_from_slice(bytes),
                        BinaryField::Random(n) => out.extend((0..*n).map(|_| rng.u8(..))),
                        BinaryField::Text(t) => out.extend_from_slice(t.render(lookup).as_bytes()),
                        BinaryField::Number {
                            width,
                            float,
                            signed,
                            little,
                            value,
                        } => {
                            let text = value.render(lookup);
                            let number: f64 = text.trim().parse().unwrap_or(0.0);
                            push_number(out, number, *width, *float, *signed, *little);
                        }
                    }
                }
            }
        }
    }
}

fn push_number(out: &mut Vec<u8>, number: f64, width: u8, float: bool, signed: bool, little: bool) {
    let bytes: Vec<u8> = match (width, float) {
        (4, true) => endian((number as f32).to_be_bytes(), little),
        (8, true) => endian(number.to_be_bytes(), little),
        (w, _) => {
            let bits = u32::from(w) * 8;
            let value = if signed {
                let half = 2f64.powi(bits as i32 - 1);
                (number.round().clamp(-half, half - 1.0) as i64) as u64
            } else {
                number.round().clamp(0.0, 2f64.powi(bits as i32) - 1.0) as u64
            };
            let all = value.to_be_bytes();
            endian(all[8 - usize::from(w)..].to_vec(), little)
        }
    };
    out.extend_from_slice(&bytes);
}

fn endian(bytes: impl Into<Vec<u8>>, little: bool) -> Vec<u8> {
    let mut bytes = bytes.into();
    if little {
        bytes.reverse();
    }
    bytes
}

/// A payload as text for the template's `{payload}`: itself when UTF-8, else its bytes in hex.
pub fn as_text(payload: &[u8]) -> String {
    match std::str::from_utf8(payload) {
        Ok(text) => text.to_string(),
        Err(_) => payload.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lookup(name: &str) -> Option<Value> {
        match name {
            "temp" => Some(json!(21.5)),
            "seq" => Some(json!(258)),
            "id" => Some(json!("s-1")),
            _ => None,
        }
    }

    #[test]
    fn json_templates_keep_types() {
        let table: toml::Value = toml::from_str(
            r#"celsius = "{temp}"
label = "sensor {id}"
fixed = 3
list = ["{seq}", true]"#,
        )
        .unwrap();
        let plan = PayloadPlan::Json(JsonTemplate::compile(&table));
        let mut out = Vec::new();
        plan.fill(&mut out, &mut fastrand::Rng::with_seed(1), &mut lookup);
        let value: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            value,
            json!({"celsius": 21.5, "label": "sensor s-1", "fixed": 3, "list": [258, true]})
        );
        let mut names = plan.names();
        names.sort_unstable();
        assert_eq!(names, ["id", "seq", "temp"]);
    }

    #[test]
    fn binary_fields_pack_numbers_and_bytes() {
        let fields: Vec<BinaryField> = ["u8:1", "u16:{seq}", "i16le:-2", "hex:00 ff", "text:{id}"]
            .iter()
            .map(|f| binary_field(f).unwrap())
            .collect();
        let mut out = Vec::new();
        PayloadPlan::Binary(fields).fill(&mut out, &mut fastrand::Rng::with_seed(1), &mut lookup);
        assert_eq!(
            out,
            [1, 0x01, 0x02, 0xFE, 0xFF, 0x00, 0xFF, b's', b'-', b'1']
        );
        let mut out = Vec::new();
        let f32le = vec![
            binary_field("f32le:{temp}").unwrap(),
            binary_field("random:3").unwrap(),
        ];
        PayloadPlan::Binary(f32le).fill(&mut out, &mut fastrand::Rng::with_seed(1), &mut lookup);
        assert_eq!(&out[..4], 21.5f32.to_le_bytes());
        assert_eq!(out.len(), 7);
        assert!(binary_field("u12:3")
            .unwrap_err()
            .contains("unknown binary field type"));
        assert!(binary_field("hex:abc").is_err());
        assert!(binary_field("plain").is_err());
    }
}
