//! SUBSCRIBE and UNSUBSCRIBE: each filter checked and answered on its own (a bad filter fails
//! alone, it does not end the connection), retained messages owed to new subscriptions queued
//! behind the SUBACK.

use super::{CloseReason, Door, Notice, Output};
use crate::router::message::{Delivery, SubscriptionIds};
use crate::router::subscriptions::FilterName;
use std::time::Instant;
use wire::codec::{reason, SubAck, Subscribe, UnsubAck, Unsubscribe};
use wire::topic;
use wire::Direction;

impl Door {
    pub(super) fn on_subscribe(&mut self, subscribe: &Subscribe, now: Instant, out: &mut Output) {
        let v5 = self.level.is_v5();
        let identifier = subscribe
            .properties
            .subscription_identifiers
            .first()
            .copied();
        if subscribe
            .filters
            .iter()
            .any(|f| f.no_local && f.filter.starts_with("$share/"))
        {
            return self.fail(
                out,
                CloseReason::ProtocolError {
                    code: reason::PROTOCOL_ERROR,
                    detail: "no-local on a shared subscription".into(),
                },
            );
        }
        if let Some(sys) = &self.config.sys {
            if subscribe
                .filters
                .iter()
                .any(|f| f.filter.starts_with("$SYS"))
            {
                sys.publish_changes();
            }
        }
        let max = self.config.limits.max_subscriptions_per_client;
        let mut codes = Vec::with_capacity(subscribe.filters.len());
        for request in &subscribe.filters {
            let Some(live) = self.live.as_mut() else {
                return;
            };
            let valid = FilterName::parse(&request.filter)
                .is_some_and(|name| topic::validate_filter(name.filter).is_ok());
            if !valid {
                codes.push(if v5 {
                    reason::TOPIC_FILTER_INVALID
                } else {
                    0x80
                });
                continue;
            }
            let exists = live
                .state
                .subscriptions
                .contains_key(request.filter.as_str());
            if !exists && live.state.subscriptions.len() >= max {
                codes.push(if v5 { reason::QUOTA_EXCEEDED } else { 0x80 });
                continue;
            }
            let subscribed =
                self.router
                    .subscribe(&live.cell, &mut live.state, request, identifier, now);
            let granted = request.qos;
            for message in subscribed.retained {
                let mut subscription_ids = SubscriptionIds::None;
                if let Some(id) = identifier {
                    subscription_ids.add(id);
                }
                live.state.backlog.push_back(Delivery {
                    qos: message.qos.min(granted),
                    retain: true,
                    subscription_ids,
                    message,
                });
            }
            codes.push(granted.bits());
            out.notices.push(Notice::Subscribed {
                filter: request.filter.clone(),
                qos: granted.bits(),
            });
        }
        let mut bytes = Vec::new();
        SubAck {
            packet_id: subscribe.packet_id,
            properties: Default::default(),
            codes,
        }
        .encode(self.level, &mut bytes);
        self.emit(out, &bytes, Direction::Outbound);
    }

    pub(super) fn on_unsubscribe(&mut self, unsubscribe: &Unsubscribe, out: &mut Output) {
        let mut codes = Vec::with_capacity(unsubscribe.filters.len());
        for filter in &unsubscribe.filters {
            let Some(live) = self.live.as_mut() else {
                return;
            };
            let valid = FilterName::parse(filter)
                .is_some_and(|name| topic::validate_filter(name.filter).is_ok());
            if !valid {
                codes.push(reason::TOPIC_FILTER_INVALID);
                continue;
            }
            if self.router.unsubscribe(&live.cell, &mut live.state, filter) {
                codes.push(reason::SUCCESS);
                out.notices.push(Notice::Unsubscribed {
                    filter: filter.clone(),
                });
            } else {
                codes.push(reason::NO_SUBSCRIPTION_EXISTED);
            }
        }
        let mut bytes = Vec::new();
        UnsubAck {
            packet_id: unsubscribe.packet_id,
            properties: Default::default(),
            codes,
        }
        .encode(self.level, &mut bytes);
        self.emit(out, &bytes, Direction::Outbound);
    }
}
