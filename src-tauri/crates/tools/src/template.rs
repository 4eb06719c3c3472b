//! `{name}` placeholders in topics, client ids and payloads, parsed once and filled per message.
//!
//! A placeholder is `{`, a name, an optional `:0N` (zero-pad a whole number to N digits), and
//! `}`. A name is letters, digits, `_`, `-`, `.` and `#`: `{id}`, `{n:03}`, `{json.on}`, `{1}`,
//! `{#}`. Any other `{` is text, so JSON payloads need no escaping: in `{"celsius": {temp}}` only
//! `{temp}` is a placeholder. Which names exist depends on where the template is used; the
//! simulator's file check names any unknown one with its line.

use serde_json::Value;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var { name: String, pad: Option<usize> },
}

/// A text with placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    parts: Vec<Part>,
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '#')
}

/// The placeholder starting at `text` (just after its `{`): name, pad and length consumed.
fn placeholder(text: &str) -> Option<(String, Option<usize>, usize)> {
    let end = text.find('}')?;
    let inner = &text[..end];
    let (name, pad) = match inner.split_once(':') {
        Some((name, format)) => {
            let digits = format.strip_prefix('0')?;
            let width: usize = digits.parse().ok()?;
            (name, Some(width.min(32)))
        }
        None => (inner, None),
    };
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '#');
    if !first_ok || !name.chars().all(name_char) {
        return None;
    }
    Some((name.to_string(), pad, end + 1))
}

impl Template {
    /// Parses `text`; never fails (what is not a placeholder is text).
    pub fn parse(text: &str) -> Template {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            literal.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match placeholder(after) {
                Some((name, pad, used)) => {
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Var { name, pad });
                    rest = &after[used..];
                }
                None => {
                    literal.push('{');
                    rest = after;
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Template { parts }
    }

    /// The names of its placeholders, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var { name, .. } => Some(name.as_str()),
            Part::Text(_) => None,
        })
    }

    /// True when it has no placeholder (the same text every time).
    pub fn is_static(&self) -> bool {
        self.names().next().is_none()
    }

    /// The name, when the whole template is one placeholder (its value then keeps its type in a
    /// JSON payload: `"{temp}"` becomes a number, not a string).
    pub fn single(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Var { name, pad: None }] => Some(name),
            _ => None,
        }
    }

    /// Appends the filled-in text to `out`; `lookup` gives each name's value (`None`: empty).
    pub fn render_into(&self, out: &mut String, lookup: &mut dyn FnMut(&str) -> Option<Value>) {
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Var { name, pad } => {
                    if let Some(value) = lookup(name) {
                        push_value(out, &value, *pad);
                    }
                }
            }
        }
    }

    /// The filled-in text.
    pub fn render(&self, lookup: &mut dyn FnMut(&str) -> Option<Value>) -> String {
        let mut out = String::new();
        self.render_into(&mut out, lookup);
        out
    }
}

/// A value as text: strings as they are, numbers and booleans as JSON writes them, objects and
/// arrays as JSON, null as nothing.
pub fn push_value(out: &mut String, value: &Value, pad: Option<usize>) {
    match (value, pad) {
        (Value::String(s), _) => out.push_str(s),
        (Value::Null, _) => {}
        (Value::Number(n), Some(width)) if n.is_i64() || n.is_u64() => {
            let text = n.to_string();
            let (sign, digits) = match text.strip_prefix('-') {
                Some(d) => ("-", d),
                None => ("", text.as_str()),
            };
            out.push_str(sign);
            for _ in digits.len()..width {
                out.push('0');
            }
            out.push_str(digits);
        }
        (other, _) => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fill(template: &str) -> String {
        Template::parse(template).render(&mut |name| match name {
            "id" => Some(json!("plug-7")),
            "n" => Some(json!(7)),
            "temp" => Some(json!(21.5)),
            "json.on" => Some(json!(true)),
            _ => None,
        })
    }

    #[test]
    fn placeholders_are_filled_and_json_braces_are_text() {
        assert_eq!(fill("plugs/{id}/state"), "plugs/plug-7/state");
        assert_eq!(fill("dev-{n:03}"), "dev-007");
        assert_eq!(
            fill(r#"{"celsius": {temp}, "on": {json.on}}"#),
            r#"{"celsius": 21.5, "on": true}"#
        );
        assert_eq!(fill("{ not a var }"), "{ not a var }");
        assert_eq!(fill("{unknown}!"), "!");
        assert_eq!(fill("{"), "{");
    }

    #[test]
    fn names_and_single_placeholders_are_known() {
        let t = Template::parse("a/{1}/{#}/{json.x.0}");
        assert_eq!(t.names().collect::<Vec<_>>(), ["1", "#", "json.x.0"]);
        assert_eq!(Template::parse("{temp}").single(), Some("temp"));
        assert_eq!(Template::parse("{temp} C").single(), None);
        assert!(Template::parse("plain").is_static());
    }
}
