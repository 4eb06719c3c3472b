//! Metric and property values as the specification means them: signed integers carried in the
//! unsigned protobuf fields (two's complement), arrays packed little-endian in bytes, DateTime
//! as milliseconds. Each value becomes JSON for the tree and short text for the table.

use super::proto::{
    data_type_name, DataSet, DataSetValueKind, MetricValue, PropertySet, PropertyValueKind,
    Template,
};
use serde_json::{json, Value};

/// Byte values longer than this are shown cut in the table (the JSON tree keeps up to this many).
const BYTES_SHOWN: usize = 64;

/// A metric's value as JSON, read according to its data type (when known).
pub fn metric_json(value: &MetricValue, datatype: Option<u32>) -> Value {
    match value {
        MetricValue::Int(v) => match datatype {
            Some(1) => json!(*v as u8 as i8),
            Some(2) => json!(*v as u16 as i16),
            Some(3) => json!(*v as i32),
            _ => json!(v),
        },
        MetricValue::Long(v) => match datatype {
            Some(4) | Some(1) | Some(2) | Some(3) => json!(*v as i64),
            _ => json!(v),
        },
        MetricValue::Float(v) => float(f64::from(*v)),
        MetricValue::Double(v) => float(*v),
        MetricValue::Boolean(v) => json!(v),
        MetricValue::String(v) => json!(v),
        MetricValue::Bytes(bytes) => match datatype.and_then(|t| array_json(t, bytes)) {
            Some(array) => array,
            None => json!(hex(bytes)),
        },
        MetricValue::DataSet(set) => dataset_json(set),
        MetricValue::Template(template) => template_json(template),
    }
}

fn float(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or_else(|| json!(v.to_string()), Value::Number)
}

/// Bytes as hex, cut after [`BYTES_SHOWN`] bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut out: String = bytes
        .iter()
        .take(BYTES_SHOWN)
        .map(|b| format!("{b:02x}"))
        .collect();
    if bytes.len() > BYTES_SHOWN {
        out.push_str(&format!("… ({} bytes)", bytes.len()));
    }
    out
}

/// An array type's elements, packed little-endian in the bytes value (22 to 34); `None` when the
/// type is not an array or the bytes do not divide into its elements.
fn array_json(datatype: u32, bytes: &[u8]) -> Option<Value> {
    fn each<const N: usize>(bytes: &[u8], f: impl Fn([u8; N]) -> Value) -> Option<Value> {
        if bytes.len() % N != 0 {
            return None;
        }
        Some(Value::Array(
            bytes
                .chunks_exact(N)
                .map(|c| f(c.try_into().unwrap_or([0; N])))
                .collect(),
        ))
    }
    match datatype {
        22 => each::<1>(bytes, |b| json!(i8::from_le_bytes(b))),
        23 => each::<2>(bytes, |b| json!(i16::from_le_bytes(b))),
        24 => each::<4>(bytes, |b| json!(i32::from_le_bytes(b))),
        25 => each::<8>(bytes, |b| json!(i64::from_le_bytes(b))),
        26 => each::<1>(bytes, |b| json!(b[0])),
        27 => each::<2>(bytes, |b| json!(u16::from_le_bytes(b))),
        28 => each::<4>(bytes, |b| json!(u32::from_le_bytes(b))),
        29 | 34 => each::<8>(bytes, |b| json!(u64::from_le_bytes(b))),
        30 => each::<4>(bytes, |b| float(f64::from(f32::from_le_bytes(b)))),
        31 => each::<8>(bytes, |b| float(f64::from_le_bytes(b))),
        32 => {
            // A four-byte little-endian count, then the booleans packed, first in the top bit.
            let count = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
            let packed = &bytes[4..];
            if count > packed.len() * 8 {
                return None;
            }
            Some(Value::Array(
                (0..count)
                    .map(|i| json!(packed[i / 8] & (0x80 >> (i % 8)) != 0))
                    .collect(),
            ))
        }
        33 => {
            // UTF-8 strings, each ended by a zero byte.
            let body = bytes.strip_suffix(&[0])?;
            Some(Value::Array(
                body.split(|b| *b == 0)
                    .map(|s| json!(String::from_utf8_lossy(s)))
                    .collect(),
            ))
        }
        _ => None,
    }
}

fn dataset_json(set: &DataSet) -> Value {
    let rows: Vec<Value> = set
        .rows
        .iter()
        .map(|row| {
            Value::Array(
                row.elements
                    .iter()
                    .map(|e| match &e.value {
                        Some(DataSetValueKind::Int(v)) => json!(v),
                        Some(DataSetValueKind::Long(v)) => json!(v),
                        Some(DataSetValueKind::Float(v)) => float(f64::from(*v)),
                        Some(DataSetValueKind::Double(v)) => float(*v),
                        Some(DataSetValueKind::Boolean(v)) => json!(v),
                        Some(DataSetValueKind::String(v)) => json!(v),
                        None => Value::Null,
                    })
                    .collect(),
            )
        })
        .collect();
    json!({
        "columns": set.columns,
        "types": set.types.iter().map(|t| data_type_name(*t)).collect::<Vec<_>>(),
        "rows": rows,
    })
}

fn template_json(template: &Template) -> Value {
    let metrics: Vec<Value> = template
        .metrics
        .iter()
        .map(|m| {
            json!({
                "name": m.name,
                "datatype": m.datatype.map(data_type_name),
                "value": m.value.as_ref().map(|v| metric_json(v, m.datatype)),
            })
        })
        .collect();
    json!({
        "templateRef": template.template_ref,
        "isDefinition": template.is_definition,
        "version": template.version,
        "metrics": metrics,
    })
}

/// A property set as (key, value as text) pairs, in order.
pub fn property_pairs(set: &PropertySet) -> Vec<(String, String)> {
    set.keys
        .iter()
        .zip(&set.values)
        .map(|(key, value)| {
            let text = if value.is_null == Some(true) {
                "null".to_owned()
            } else {
                match &value.value {
                    Some(PropertyValueKind::Int(v)) => v.to_string(),
                    Some(PropertyValueKind::Long(v)) => v.to_string(),
                    Some(PropertyValueKind::Float(v)) => v.to_string(),
                    Some(PropertyValueKind::Double(v)) => v.to_string(),
                    Some(PropertyValueKind::Boolean(v)) => v.to_string(),
                    Some(PropertyValueKind::String(v)) => v.clone(),
                    Some(PropertyValueKind::PropertySet(set)) => {
                        format!("{{{}}}", join_pairs(&property_pairs(set)))
                    }
                    Some(PropertyValueKind::PropertySetList(list)) => format!(
                        "[{}]",
                        list.propertyset
                            .iter()
                            .map(|s| format!("{{{}}}", join_pairs(&property_pairs(s))))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None => String::new(),
                }
            };
            (key.clone(), text)
        })
        .collect()
}

fn join_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value as one line of text for the table.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => {
            let text = other.to_string();
            if text.chars().count() > 200 {
                let cut: String = text.chars().take(200).collect();
                format!("{cut}…")
            } else {
                text
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_and_packed_values_read_as_the_specification_means() {
        assert_eq!(metric_json(&MetricValue::Int(0xff), Some(1)), json!(-1));
        assert_eq!(metric_json(&MetricValue::Int(0xfffe), Some(2)), json!(-2));
        assert_eq!(metric_json(&MetricValue::Int(u32::MAX), Some(3)), json!(-1));
        assert_eq!(
            metric_json(&MetricValue::Int(u32::MAX), Some(7)),
            json!(u32::MAX)
        );
        assert_eq!(
            metric_json(&MetricValue::Long(u64::MAX), Some(4)),
            json!(-1)
        );
        let mut floats = Vec::new();
        floats.extend_from_slice(&1.5f32.to_le_bytes());
        floats.extend_from_slice(&(-2.0f32).to_le_bytes());
        assert_eq!(
            metric_json(&MetricValue::Bytes(floats), Some(30)),
            json!([1.5, -2.0])
        );
        let bools = vec![3, 0, 0, 0, 0b1010_0000];
        assert_eq!(
            metric_json(&MetricValue::Bytes(bools), Some(32)),
            json!([true, false, true])
        );
        assert_eq!(
            metric_json(&MetricValue::Bytes(b"ab\0c\0".to_vec()), Some(33)),
            json!(["ab", "c"])
        );
        // Bytes that do not divide into the type's elements stay bytes.
        assert_eq!(
            metric_json(&MetricValue::Bytes(vec![1, 2, 3]), Some(24)),
            json!("010203")
        );
    }
}
