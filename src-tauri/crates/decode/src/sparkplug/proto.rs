//! The Sparkplug B payload as protobuf messages, written here from the Eclipse Sparkplug
//! specification (version 3.0, chapter 6 "Payloads", `org.eclipse.tahu.protobuf.Payload`). The
//! schema is proto2: every scalar is optional, and the `extensions` ranges the specification
//! reserves are skipped by the decoder like any unknown field.
//!
//! Decoding only: the workbench never publishes Sparkplug on its own. prost bounds the nesting
//! (recursion limit 100), and every length is checked against the bytes really there.

use prost::{Message, Oneof};

/// `Payload`: a message's timestamp, metrics, sequence number, UUID and opaque body.
#[derive(Clone, PartialEq, Message)]
pub struct Payload {
    /// Milliseconds since the Unix epoch, UTC, at publication.
    #[prost(uint64, optional, tag = "1")]
    pub timestamp: Option<u64>,
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
    /// 0 to 255, one more on each message an edge node sends (its NDEATH excepted).
    #[prost(uint64, optional, tag = "3")]
    pub seq: Option<u64>,
    #[prost(string, optional, tag = "4")]
    pub uuid: Option<String>,
    #[prost(bytes = "vec", optional, tag = "5")]
    pub body: Option<Vec<u8>>,
}

/// `Payload.Metric`: one named (or aliased) value.
#[derive(Clone, PartialEq, Message)]
pub struct Metric {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// Announced with the name in a BIRTH; later messages may carry the alias alone.
    #[prost(uint64, optional, tag = "2")]
    pub alias: Option<u64>,
    #[prost(uint64, optional, tag = "3")]
    pub timestamp: Option<u64>,
    /// A [`DataType`] number; required in a BIRTH, optional afterwards.
    #[prost(uint32, optional, tag = "4")]
    pub datatype: Option<u32>,
    #[prost(bool, optional, tag = "5")]
    pub is_historical: Option<bool>,
    #[prost(bool, optional, tag = "6")]
    pub is_transient: Option<bool>,
    #[prost(bool, optional, tag = "7")]
    pub is_null: Option<bool>,
    #[prost(message, optional, tag = "8")]
    pub metadata: Option<MetaData>,
    #[prost(message, optional, tag = "9")]
    pub properties: Option<PropertySet>,
    #[prost(oneof = "MetricValue", tags = "10, 11, 12, 13, 14, 15, 16, 17, 18")]
    pub value: Option<MetricValue>,
}

/// The value of a metric (field 19, the extension value, is skipped as unknown).
#[derive(Clone, PartialEq, Oneof)]
pub enum MetricValue {
    #[prost(uint32, tag = "10")]
    Int(u32),
    #[prost(uint64, tag = "11")]
    Long(u64),
    #[prost(float, tag = "12")]
    Float(f32),
    #[prost(double, tag = "13")]
    Double(f64),
    #[prost(bool, tag = "14")]
    Boolean(bool),
    #[prost(string, tag = "15")]
    String(String),
    #[prost(bytes = "vec", tag = "16")]
    Bytes(Vec<u8>),
    #[prost(message, tag = "17")]
    DataSet(DataSet),
    #[prost(message, tag = "18")]
    Template(Template),
}

/// `Payload.MetaData`: what a bytes or file metric holds.
#[derive(Clone, PartialEq, Message)]
pub struct MetaData {
    #[prost(bool, optional, tag = "1")]
    pub is_multi_part: Option<bool>,
    #[prost(string, optional, tag = "2")]
    pub content_type: Option<String>,
    #[prost(uint64, optional, tag = "3")]
    pub size: Option<u64>,
    #[prost(uint64, optional, tag = "4")]
    pub seq: Option<u64>,
    #[prost(string, optional, tag = "5")]
    pub file_name: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub file_type: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub md5: Option<String>,
    #[prost(string, optional, tag = "8")]
    pub description: Option<String>,
}

/// `Payload.PropertySet`: keys and their values, pairwise (e.g. a metric's `Quality`).
#[derive(Clone, PartialEq, Message)]
pub struct PropertySet {
    #[prost(string, repeated, tag = "1")]
    pub keys: Vec<String>,
    #[prost(message, repeated, tag = "2")]
    pub values: Vec<PropertyValue>,
}

/// `Payload.PropertyValue`.
#[derive(Clone, PartialEq, Message)]
pub struct PropertyValue {
    #[prost(uint32, optional, tag = "1")]
    pub r#type: Option<u32>,
    #[prost(bool, optional, tag = "2")]
    pub is_null: Option<bool>,
    #[prost(oneof = "PropertyValueKind", tags = "3, 4, 5, 6, 7, 8, 9, 10")]
    pub value: Option<PropertyValueKind>,
}

#[derive(Clone, PartialEq, Oneof)]
pub enum PropertyValueKind {
    #[prost(uint32, tag = "3")]
    Int(u32),
    #[prost(uint64, tag = "4")]
    Long(u64),
    #[prost(float, tag = "5")]
    Float(f32),
    #[prost(double, tag = "6")]
    Double(f64),
    #[prost(bool, tag = "7")]
    Boolean(bool),
    #[prost(string, tag = "8")]
    String(String),
    #[prost(message, tag = "9")]
    PropertySet(PropertySet),
    #[prost(message, tag = "10")]
    PropertySetList(PropertySetList),
}

/// `Payload.PropertySetList`.
#[derive(Clone, PartialEq, Message)]
pub struct PropertySetList {
    #[prost(message, repeated, tag = "1")]
    pub propertyset: Vec<PropertySet>,
}

/// `Payload.DataSet`: a table of typed columns.
#[derive(Clone, PartialEq, Message)]
pub struct DataSet {
    #[prost(uint64, optional, tag = "1")]
    pub num_of_columns: Option<u64>,
    #[prost(string, repeated, tag = "2")]
    pub columns: Vec<String>,
    #[prost(uint32, repeated, packed = "false", tag = "3")]
    pub types: Vec<u32>,
    #[prost(message, repeated, tag = "4")]
    pub rows: Vec<Row>,
}

/// `Payload.DataSet.Row`.
#[derive(Clone, PartialEq, Message)]
pub struct Row {
    #[prost(message, repeated, tag = "1")]
    pub elements: Vec<DataSetValue>,
}

/// `Payload.DataSet.DataSetValue`.
#[derive(Clone, PartialEq, Message)]
pub struct DataSetValue {
    #[prost(oneof = "DataSetValueKind", tags = "1, 2, 3, 4, 5, 6")]
    pub value: Option<DataSetValueKind>,
}

#[derive(Clone, PartialEq, Oneof)]
pub enum DataSetValueKind {
    #[prost(uint32, tag = "1")]
    Int(u32),
    #[prost(uint64, tag = "2")]
    Long(u64),
    #[prost(float, tag = "3")]
    Float(f32),
    #[prost(double, tag = "4")]
    Double(f64),
    #[prost(bool, tag = "5")]
    Boolean(bool),
    #[prost(string, tag = "6")]
    String(String),
}

/// `Payload.Template`: a user-defined type (a definition) or an instance of one.
#[derive(Clone, PartialEq, Message)]
pub struct Template {
    #[prost(string, optional, tag = "1")]
    pub version: Option<String>,
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
    #[prost(message, repeated, tag = "3")]
    pub parameters: Vec<Parameter>,
    #[prost(string, optional, tag = "4")]
    pub template_ref: Option<String>,
    #[prost(bool, optional, tag = "5")]
    pub is_definition: Option<bool>,
}

/// `Payload.Template.Parameter`.
#[derive(Clone, PartialEq, Message)]
pub struct Parameter {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(uint32, optional, tag = "2")]
    pub r#type: Option<u32>,
    #[prost(oneof = "DataSetValueKindParameter", tags = "3, 4, 5, 6, 7, 8")]
    pub value: Option<DataSetValueKindParameter>,
}

/// A template parameter's value (the same shape as a data set value, numbered from 3).
#[derive(Clone, PartialEq, Oneof)]
pub enum DataSetValueKindParameter {
    #[prost(uint32, tag = "3")]
    Int(u32),
    #[prost(uint64, tag = "4")]
    Long(u64),
    #[prost(float, tag = "5")]
    Float(f32),
    #[prost(double, tag = "6")]
    Double(f64),
    #[prost(bool, tag = "7")]
    Boolean(bool),
    #[prost(string, tag = "8")]
    String(String),
}

/// Decodes a payload; `Err` with prost's reason when the bytes are not a `Payload`.
pub fn decode(bytes: &[u8]) -> Result<Payload, prost::DecodeError> {
    Payload::decode(bytes)
}

/// The specification's data type names, by number (`DataType` enum).
pub fn data_type_name(number: u32) -> &'static str {
    const NAMES: [&str; 35] = [
        "Unknown",
        "Int8",
        "Int16",
        "Int32",
        "Int64",
        "UInt8",
        "UInt16",
        "UInt32",
        "UInt64",
        "Float",
        "Double",
        "Boolean",
        "String",
        "DateTime",
        "Text",
        "UUID",
        "DataSet",
        "Bytes",
        "File",
        "Template",
        "PropertySet",
        "PropertySetList",
        "Int8Array",
        "Int16Array",
        "Int32Array",
        "Int64Array",
        "UInt8Array",
        "UInt16Array",
        "UInt32Array",
        "UInt64Array",
        "FloatArray",
        "DoubleArray",
        "BooleanArray",
        "StringArray",
        "DateTimeArray",
    ];
    NAMES.get(number as usize).copied().unwrap_or("Unknown")
}
