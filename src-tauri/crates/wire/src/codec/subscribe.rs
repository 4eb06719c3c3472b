//! SUBSCRIBE (§3.8): topic filters with their options.

use super::properties::{Context, Properties};
use super::read::Reader;
use super::write::{put_string, put_u16};
use super::{put_fixed_header, DecodeError, Level, QoS};

/// When retained messages are sent for a new subscription (MQTT 5; 3.1.1 always sends them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetainHandling {
    /// Send them at every subscribe.
    #[default]
    SendAtSubscribe,
    /// Send them only if the subscription did not exist before.
    SendIfNew,
    /// Never send them for this subscribe.
    DoNotSend,
}

/// One filter of a SUBSCRIBE with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeFilter {
    /// The filter as sent (shared subscriptions keep their `$share/group/` prefix).
    pub filter: String,
    pub qos: QoS,
    pub no_local: bool,
    pub retain_as_published: bool,
    pub retain_handling: RetainHandling,
}

impl SubscribeFilter {
    pub fn new(filter: &str, qos: QoS) -> SubscribeFilter {
        SubscribeFilter {
            filter: filter.to_string(),
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::SendAtSubscribe,
        }
    }

    fn options(&self, level: Level) -> u8 {
        let mut options = self.qos.bits();
        if level.is_v5() {
            if self.no_local {
                options |= 0b0100;
            }
            if self.retain_as_published {
                options |= 0b1000;
            }
            options |= match self.retain_handling {
                RetainHandling::SendAtSubscribe => 0,
                RetainHandling::SendIfNew => 1,
                RetainHandling::DoNotSend => 2,
            } << 4;
        }
        options
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    pub packet_id: u16,
    pub properties: Properties,
    pub filters: Vec<SubscribeFilter>,
}

impl Subscribe {
    pub fn decode(body: &[u8], level: Level) -> Result<Subscribe, DecodeError> {
        let mut r = Reader::new(body);
        let packet_id = r.u16()?;
        if packet_id == 0 {
            return Err(DecodeError::Protocol("packet identifier 0"));
        }
        let properties = if level.is_v5() {
            Properties::decode(&mut r, Context::Subscribe)?
        } else {
            Properties::default()
        };
        let mut filters = Vec::new();
        while !r.is_empty() {
            let filter = r.string()?.to_owned();
            let options = r.u8()?;
            let qos = QoS::from_bits(options & 0b11)
                .ok_or(DecodeError::Malformed("a subscription asks for QoS 3"))?;
            let reserved = if level.is_v5() {
                0b1100_0000
            } else {
                0b1111_1100
            };
            if options & reserved != 0 {
                return Err(DecodeError::Malformed(
                    "reserved bits of the subscription options are set",
                ));
            }
            let retain_handling = match (options >> 4) & 0b11 {
                0 => RetainHandling::SendAtSubscribe,
                1 => RetainHandling::SendIfNew,
                2 => RetainHandling::DoNotSend,
                _ => return Err(DecodeError::Protocol("retain handling 3")),
            };
            filters.push(SubscribeFilter {
                filter,
                qos,
                no_local: options & 0b0100 != 0,
                retain_as_published: options & 0b1000 != 0,
                retain_handling,
            });
        }
        if filters.is_empty() {
            return Err(DecodeError::Protocol("a SUBSCRIBE without topic filters"));
        }
        Ok(Subscribe {
            packet_id,
            properties,
            filters,
        })
    }

    pub fn encode(&self, level: Level, out: &mut Vec<u8>) {
        let mut remaining = 2;
        if level.is_v5() {
            remaining += self.properties.encoded_len();
        }
        for f in &self.filters {
            remaining += 3 + f.filter.len();
        }
        put_fixed_header(out, 0x82, remaining);
        put_u16(out, self.packet_id);
        if level.is_v5() {
            self.properties.encode(out);
        }
        for f in &self.filters {
            put_string(out, &f.filter);
            out.push(f.options(level));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode, Packet};
    use super::*;

    #[test]
    fn subscribes_round_trip_with_their_options() {
        let mut sub = Subscribe {
            packet_id: 3,
            properties: Properties::default(),
            filters: vec![SubscribeFilter::new("a/+", QoS::AtLeastOnce)],
        };
        let mut bytes = Vec::new();
        sub.encode(Level::V3_1_1, &mut bytes);
        assert_eq!(
            decode(&bytes, Level::V3_1_1),
            Ok(Packet::Subscribe(sub.clone()))
        );
        sub.properties.subscription_identifiers = vec![456_789];
        sub.filters.push(SubscribeFilter {
            filter: "$share/g/b/#".into(),
            qos: QoS::ExactlyOnce,
            no_local: true,
            retain_as_published: true,
            retain_handling: RetainHandling::DoNotSend,
        });
        let mut bytes = Vec::new();
        sub.encode(Level::V5, &mut bytes);
        assert_eq!(decode(&bytes, Level::V5), Ok(Packet::Subscribe(sub)));
    }

    #[test]
    fn bad_options_are_refused() {
        // QoS 3; a 3.1.1 reserved bit; retain handling 3; no filters.
        assert!(decode(&[0x82, 0x06, 0, 1, 0, 1, b'a', 3], Level::V3_1_1).is_err());
        assert!(decode(&[0x82, 0x06, 0, 1, 0, 1, b'a', 4], Level::V3_1_1).is_err());
        assert!(decode(&[0x82, 0x07, 0, 1, 0, 0, 1, b'a', 0x30], Level::V5).is_err());
        assert!(decode(&[0x82, 0x02, 0, 1], Level::V3_1_1).is_err());
    }
}
