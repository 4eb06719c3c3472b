//! Sparkplug B as a device sends it: payloads encoded by an independent implementation (PyPI
//! `pysparkplug`, in `peers/sparkplug_encode.py`), published with `mosquitto_pub` to the app's
//! broker, read by the traffic hub's tracker and decoded for the inspector. The sequence has a
//! lost `seq`, data before any BIRTH, a DDEATH and an NDEATH; a second edge node goes away
//! without a word and its will (the NDEATH) takes it offline.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use workbench_broker::BrokerSettings;
use workbench_core::app::{App, Folders};
use workbench_decode::sparkplug::tracker::{IssueCode, OfflineReason, Presence, StateView};
use workbench_secrets::Secrets;
use workbench_testkit::peers::mosquitto_pub;
use workbench_testkit::raw::{self, Connect, RawClient};
use workbench_traffic::SourceId;

fn wait(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The app with its broker on a free port, and that port.
fn started_app(config: &Path) -> (App, tokio::runtime::Runtime, std::net::SocketAddr) {
    let secrets = Arc::new(Secrets::memory_only("test"));
    let settings = BrokerSettings {
        port: 0,
        port_fallback: false,
        ..BrokerSettings::default()
    };
    workbench_core::broker::saved::save(
        &config.join(workbench_core::broker::saved::BROKER_FILE),
        &settings,
        &secrets,
    )
    .expect("save the broker settings");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let app = App::new(
        Folders {
            config: Some(config.to_path_buf()),
        },
        secrets,
    );
    runtime.block_on(async { app.start() });
    let mut address = None;
    wait("the broker running", || {
        address = runtime.block_on(app.broker.status()).address;
        address.is_some()
    });
    (app, runtime, address.expect("an address"))
}

/// Runs the independent encoder into `dir`; its manifest lists (file, topic) in order.
fn encode_with_pysparkplug(dir: &Path) -> Vec<(String, String)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/sparkplug_encode.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(dir)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "pysparkplug encodes (make deps-python installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.join("manifest.txt"))
        .expect("manifest")
        .lines()
        .map(|line| {
            let (file, topic) = line.split_once('\t').expect("file<TAB>topic");
            (file.to_owned(), topic.to_owned())
        })
        .collect()
}

fn node<'a>(
    state: &'a StateView,
    group: &str,
    id: &str,
) -> &'a workbench_decode::sparkplug::tracker::NodeView {
    state
        .groups
        .iter()
        .find(|g| g.name == group)
        .and_then(|g| g.nodes.iter().find(|n| n.node.id == id))
        .unwrap_or_else(|| panic!("edge node {group}/{id} tracked: {state:#?}"))
}

#[test]
fn sparkplug_from_an_independent_encoder_is_tracked_and_decoded() {
    let config = tempfile::tempdir().expect("config folder");
    let payloads = tempfile::tempdir().expect("payload folder");
    let messages = encode_with_pysparkplug(payloads.path());
    let (app, _runtime, address) = started_app(config.path());
    let port = address.port().to_string();
    let source = SourceId::Broker;
    for (file, topic) in &messages {
        let path = payloads.path().join(file);
        let out = mosquitto_pub(
            &port,
            &[
                "-q",
                "1",
                "-t",
                topic,
                "-f",
                path.to_str().expect("utf-8 path"),
            ],
        );
        assert!(out.status.success(), "mosquitto_pub: {out:?}");
    }
    // Text on a Sparkplug topic, and Sparkplug-looking bytes outside the namespace.
    mosquitto_pub(
        &port,
        &["-t", "spBv1.0/Plant/NDATA/edge3", "-m", "not sparkplug"],
    );
    let first = payloads.path().join(&messages[0].0);
    mosquitto_pub(
        &port,
        &["-t", "plant/edge1", "-f", first.to_str().expect("path")],
    );
    let expected = messages.len() as f64 + 1.0;
    let mut state = None;
    wait("every Sparkplug message read", || {
        let view = workbench_core::decoders::sparkplug_state(&app.hub, &source);
        let done = view.messages == expected;
        state = Some(view);
        done
    });
    let state = state.expect("state");

    let edge1 = node(&state, "Plant", "edge1");
    assert_eq!(
        edge1.node.presence,
        Presence::Offline,
        "NDEATH took it offline"
    );
    assert_eq!(edge1.node.reason, Some(OfflineReason::Death));
    assert_eq!((edge1.node.births, edge1.node.deaths), (1, 1));
    assert_eq!(edge1.bd_seq, Some(3.0));
    assert_eq!(edge1.seq_gaps, 1);
    assert_eq!(
        edge1.node.metrics, 4,
        "bdSeq and three metrics in the NBIRTH"
    );
    let pump1 = edge1
        .devices
        .iter()
        .find(|d| d.id == "pump1")
        .expect("pump1");
    assert_eq!(pump1.presence, Presence::Offline);
    assert_eq!(pump1.reason, Some(OfflineReason::Death), "its DDEATH");
    assert_eq!(pump1.births, 1);
    let pump2 = edge1
        .devices
        .iter()
        .find(|d| d.id == "pump2")
        .expect("pump2");
    assert_eq!(pump2.presence, Presence::Unknown, "never born");
    assert_eq!(pump2.before_birth, 1);
    let edge2 = node(&state, "Plant", "edge2");
    assert_eq!(
        (edge2.node.presence, edge2.node.before_birth),
        (Presence::Unknown, 1)
    );

    let gap = state
        .issues
        .iter()
        .find(|i| i.code == IssueCode::SeqGap)
        .expect("the lost seq is flagged");
    assert_eq!((gap.expected, gap.got), (Some(4.0), Some(5.0)));
    assert_eq!(gap.topic, "spBv1.0/Plant/NDATA/edge1");
    let before: Vec<&str> = state
        .issues
        .iter()
        .filter(|i| i.code == IssueCode::BeforeBirth)
        .map(|i| i.topic.as_str())
        .collect();
    assert_eq!(
        before,
        [
            "spBv1.0/Plant/NDATA/edge2",
            "spBv1.0/Plant/DDATA/edge1/pump2"
        ],
        "newest first"
    );
    assert!(state
        .issues
        .iter()
        .any(|i| i.code == IssueCode::BadPayload && i.topic == "spBv1.0/Plant/NDATA/edge3"));
    assert_eq!(
        state.issues.len(),
        4,
        "nothing else flagged: {:#?}",
        state.issues
    );

    // The inspector's reading of the NDATA sent by alias alone, without data types.
    let (file, topic) = &messages[2];
    let payload = std::fs::read(payloads.path().join(file)).expect("payload");
    let decoded = app.decoders.decode(&app.hub, &source, topic, &payload);
    let reading = decoded.sparkplug.expect("a Sparkplug topic");
    let message = reading
        .message
        .unwrap_or_else(|| panic!("{:?}", reading.error));
    assert_eq!(message.seq, Some(2.0));
    assert_eq!(message.timestamp, Some(1_700_000_000_002.0));
    let rows: Vec<(Option<&str>, bool, &str, &str)> = message
        .metrics
        .iter()
        .map(|m| {
            (
                m.name.as_deref(),
                m.name_from_birth,
                m.datatype.as_str(),
                m.value.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (Some("Temperature"), true, "Float", "22.25"),
            (Some("Count"), true, "Int32", "-7"),
        ]
    );
    assert!(message.json.contains("\"Temperature\""), "{}", message.json);
    // Outside the namespace nothing is read as Sparkplug, even Sparkplug bytes.
    let outside = std::fs::read(&first).expect("payload");
    assert!(app
        .decoders
        .decode(&app.hub, &source, "plant/edge1", &outside)
        .sparkplug
        .is_none());
    // Text on a Sparkplug topic: a clear error, not a table of nonsense.
    let text = app
        .decoders
        .decode(
            &app.hub,
            &source,
            "spBv1.0/Plant/NDATA/edge3",
            b"not sparkplug",
        )
        .sparkplug
        .expect("a Sparkplug topic");
    assert!(text.message.is_none());
    assert!(text
        .error
        .expect("an error")
        .contains("not a Sparkplug B payload"));

    // An edge node whose connection is lost: its will, the NDEATH, takes it offline.
    let birth = std::fs::read(payloads.path().join("will_birth.bin")).expect("birth");
    let death = std::fs::read(payloads.path().join("will_death.bin")).expect("death");
    let mut edge = RawClient::connected(
        address,
        Connect {
            client_id: "edge-will",
            will: Some(("spBv1.0/Plant/NDEATH/edgeW", &death, 1)),
            ..Connect::default()
        },
    );
    edge.send(&raw::publish(
        raw::V311,
        "spBv1.0/Plant/NBIRTH/edgeW",
        &birth,
        0,
        false,
        0,
    ));
    wait("edgeW online", || {
        let view = workbench_core::decoders::sparkplug_state(&app.hub, &source);
        view.groups
            .iter()
            .flat_map(|g| &g.nodes)
            .any(|n| n.node.id == "edgeW" && n.node.presence == Presence::Online)
    });
    drop(edge);
    wait("edgeW offline after its connection was lost", || {
        let view = workbench_core::decoders::sparkplug_state(&app.hub, &source);
        let n = node(&view, "Plant", "edgeW");
        n.node.presence == Presence::Offline && n.node.reason == Some(OfflineReason::ConnectionLost)
    });
}
