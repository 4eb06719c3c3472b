//! The tracker's own cases: a stale NDEATH, unknown aliases, seq wrapping, limits.

use super::*;
use crate::sparkplug::proto::Metric;
use prost::Message;

fn payload(seq: Option<u64>, metrics: Vec<Metric>) -> Vec<u8> {
    Payload {
        timestamp: Some(1),
        seq,
        metrics,
        ..Payload::default()
    }
    .encode_to_vec()
}

fn metric(name: Option<&str>, alias: Option<u64>, value: MetricValue) -> Metric {
    Metric {
        name: name.map(str::to_owned),
        alias,
        datatype: Some(8),
        value: Some(value),
        ..Metric::default()
    }
}

#[test]
fn a_stale_death_is_ignored_and_unknown_aliases_and_wraps_are_told_apart() {
    let mut t = SparkplugTracker::default();
    let birth = |bd| {
        payload(
            Some(0),
            vec![
                metric(Some("bdSeq"), None, MetricValue::Long(bd)),
                metric(Some("m"), Some(1), MetricValue::Long(5)),
            ],
        )
    };
    t.observe("spBv1.0/g/NBIRTH/n", &birth(1), 1, "c");
    // seq runs 1..=255 then wraps to 0: no gap.
    for seq in (1..=255).chain([0]) {
        let data = payload(Some(seq), vec![metric(None, Some(1), MetricValue::Long(6))]);
        t.observe("spBv1.0/g/NDATA/n", &data, 2, "c");
    }
    let data = payload(Some(1), vec![metric(None, Some(9), MetricValue::Long(6))]);
    t.observe("spBv1.0/g/NDATA/n", &data, 3, "c");
    // The NDEATH of an earlier session (bdSeq 0): stale.
    let old_death = payload(
        None,
        vec![metric(Some("bdSeq"), None, MetricValue::Long(0))],
    );
    t.observe("spBv1.0/g/NDEATH/n", &old_death, 4, "c");
    let view = t.view();
    let node = &view.groups[0].nodes[0];
    assert_eq!(
        node.node.presence,
        Presence::Online,
        "a stale NDEATH is ignored"
    );
    assert_eq!(node.seq_gaps, 0);
    let codes: Vec<IssueCode> = view.issues.iter().map(|i| i.code).collect();
    assert_eq!(codes, [IssueCode::StaleDeath, IssueCode::UnknownAlias]);
    assert_eq!(view.issues[1].got, Some(9.0));
    // The right one takes it offline; a clean disconnect of another client does nothing.
    t.connection_lost("someone-else");
    let death = payload(
        None,
        vec![metric(Some("bdSeq"), None, MetricValue::Long(1))],
    );
    t.observe("spBv1.0/g/NDEATH/n", &death, 5, "c");
    assert_eq!(t.view().groups[0].nodes[0].node.presence, Presence::Offline);
    // Names resolve from the BIRTH for the inspector.
    let topic = SparkplugTopic::parse("spBv1.0/g/NDATA/n")
        .and_then(Result::ok)
        .expect("topic");
    let birth = t.birth_for(&topic).expect("a BIRTH");
    assert_eq!(birth.by_alias.get(&1).map(|(n, _)| n.as_str()), Some("m"));
}

#[test]
fn endpoints_past_the_limit_are_counted_not_tracked() {
    let mut t = SparkplugTracker::default();
    let data = payload(Some(0), vec![]);
    for i in 0..MAX_ENDPOINTS + 5 {
        t.observe(&format!("spBv1.0/g/NDATA/n{i}"), &data, 1, "c");
    }
    let view = t.view();
    assert_eq!(view.groups[0].nodes.len(), MAX_ENDPOINTS);
    assert_eq!(view.not_tracked, 5.0);
    assert!(view.issues.len() <= MAX_ISSUES);
}
