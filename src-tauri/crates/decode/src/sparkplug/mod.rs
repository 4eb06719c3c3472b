//! Sparkplug B (Eclipse Sparkplug 3.0): topics of the `spBv1.0` namespace, payloads decoded into
//! a metrics table and a JSON tree, and the state of every group, edge node and device seen.
//!
//! Only topics under `spBv1.0/` are ever read as Sparkplug (a peer once decoded plain text as
//! Sparkplug by mistake): [`SparkplugTopic::parse`] answers `None` for everything else.
//!
//! - [`proto`]: the payload's protobuf messages, written from the specification.
//! - [`values`]: metric values as text and JSON (signed types, arrays packed in bytes).
//! - [`message`]: one message decoded for the inspector, aliases resolved from the BIRTH.
//! - [`tracker`]: online/offline state, `seq` gaps, `bdSeq`, metrics before a BIRTH.

pub mod message;
pub mod proto;
pub mod tracker;
pub mod values;

pub use message::{decode_message, MetricRow, SparkplugMessage};
pub use tracker::{SparkplugTracker, StateView};

/// The namespace every Sparkplug B topic starts with.
pub const NAMESPACE: &str = "spBv1.0";

/// What a Sparkplug topic says a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, specta::Type)]
pub enum MessageKind {
    #[serde(rename = "NBIRTH")]
    NBirth,
    #[serde(rename = "NDEATH")]
    NDeath,
    #[serde(rename = "NDATA")]
    NData,
    #[serde(rename = "NCMD")]
    NCmd,
    #[serde(rename = "DBIRTH")]
    DBirth,
    #[serde(rename = "DDEATH")]
    DDeath,
    #[serde(rename = "DDATA")]
    DData,
    #[serde(rename = "DCMD")]
    DCmd,
    #[serde(rename = "STATE")]
    State,
}

impl MessageKind {
    fn from_word(word: &str) -> Option<MessageKind> {
        Some(match word {
            "NBIRTH" => MessageKind::NBirth,
            "NDEATH" => MessageKind::NDeath,
            "NDATA" => MessageKind::NData,
            "NCMD" => MessageKind::NCmd,
            "DBIRTH" => MessageKind::DBirth,
            "DDEATH" => MessageKind::DDeath,
            "DDATA" => MessageKind::DData,
            "DCMD" => MessageKind::DCmd,
            _ => return None,
        })
    }

    /// The word in the topic (`NBIRTH`...).
    pub fn word(self) -> &'static str {
        match self {
            MessageKind::NBirth => "NBIRTH",
            MessageKind::NDeath => "NDEATH",
            MessageKind::NData => "NDATA",
            MessageKind::NCmd => "NCMD",
            MessageKind::DBirth => "DBIRTH",
            MessageKind::DDeath => "DDEATH",
            MessageKind::DData => "DDATA",
            MessageKind::DCmd => "DCMD",
            MessageKind::State => "STATE",
        }
    }

    /// Messages about a device (the topic names one).
    pub fn is_device(self) -> bool {
        matches!(
            self,
            MessageKind::DBirth | MessageKind::DDeath | MessageKind::DData | MessageKind::DCmd
        )
    }
}

/// A topic of the Sparkplug B namespace, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparkplugTopic {
    pub kind: MessageKind,
    /// The group id; for STATE, empty.
    pub group: String,
    /// The edge node id; for STATE, the host application's id.
    pub node: String,
    pub device: Option<String>,
}

/// Why a topic under `spBv1.0/` is not a valid Sparkplug topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Sparkplug B topic: {0}")]
pub struct TopicError(pub &'static str);

impl SparkplugTopic {
    /// `None` for topics outside the namespace; `Some(Err)` for a malformed one inside it.
    pub fn parse(topic: &str) -> Option<Result<SparkplugTopic, TopicError>> {
        let rest = topic.strip_prefix(NAMESPACE)?.strip_prefix('/')?;
        Some(Self::parse_levels(rest))
    }

    fn parse_levels(rest: &str) -> Result<SparkplugTopic, TopicError> {
        let levels: Vec<&str> = rest.split('/').collect();
        if levels.first() == Some(&"STATE") {
            return match levels.as_slice() {
                ["STATE", host] if !host.is_empty() => Ok(SparkplugTopic {
                    kind: MessageKind::State,
                    group: String::new(),
                    node: (*host).to_owned(),
                    device: None,
                }),
                _ => Err(TopicError("STATE takes one level: spBv1.0/STATE/<host id>")),
            };
        }
        let (group, word, node, device) = match levels.as_slice() {
            [group, word, node] => (*group, *word, *node, None),
            [group, word, node, device] => (*group, *word, *node, Some(*device)),
            _ => {
                return Err(TopicError(
                    "expected spBv1.0/<group>/<message type>/<edge node>[/<device>]",
                ))
            }
        };
        let kind = MessageKind::from_word(word).ok_or(TopicError("unknown message type"))?;
        if group.is_empty() || node.is_empty() || device.is_some_and(str::is_empty) {
            return Err(TopicError("an empty group, edge node or device id"));
        }
        if kind.is_device() != device.is_some() {
            return Err(TopicError(
                "device messages name a device, edge node messages do not",
            ));
        }
        Ok(SparkplugTopic {
            kind,
            group: group.to_owned(),
            node: node.to_owned(),
            device: device.map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_namespace_is_sparkplug() {
        assert_eq!(SparkplugTopic::parse("spBv1.0"), None);
        assert_eq!(SparkplugTopic::parse("spAv1.0/g/NDATA/n"), None);
        assert_eq!(SparkplugTopic::parse("sensors/spBv1.0/g/NDATA/n"), None);
        let t = SparkplugTopic::parse("spBv1.0/Plant/DDATA/edge1/pump")
            .expect("in the namespace")
            .expect("valid");
        assert_eq!(t.kind, MessageKind::DData);
        assert_eq!((t.group.as_str(), t.node.as_str()), ("Plant", "edge1"));
        assert_eq!(t.device.as_deref(), Some("pump"));
        let state = SparkplugTopic::parse("spBv1.0/STATE/scada")
            .expect("in")
            .expect("valid");
        assert_eq!(
            (state.kind, state.node.as_str()),
            (MessageKind::State, "scada")
        );
        for bad in [
            "spBv1.0/g/NDATA",
            "spBv1.0/g/NOPE/n",
            "spBv1.0/g/DDATA/n",
            "spBv1.0/g/NDATA/n/d",
            "spBv1.0//NDATA/n",
            "spBv1.0/STATE",
        ] {
            assert!(
                matches!(SparkplugTopic::parse(bad), Some(Err(_))),
                "{bad} is refused"
            );
        }
    }
}
