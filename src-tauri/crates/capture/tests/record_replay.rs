//! The issue's check, against real peers: mosquitto_pub publishes a run of messages (text,
//! binary, QoS 0/1/2, retained, MQTT 5 properties, spaced in time) through the embedded broker
//! while a recording is made from the broker's packet events and mosquitto_sub watches; the
//! recording is replayed at 1x to mosquitto, where a second mosquitto_sub watches. The two
//! mosquitto_sub outputs must be the same byte for byte (topic, QoS, retain as published,
//! content type, user properties, payload in hex), in the same order, with the same spacing in
//! time within a tolerance.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use workbench_broker::{Broker, BrokerEvent, BrokerSettings};
use workbench_capture::link::{Link, LinkOptions};
use workbench_capture::record::{RecordOptions, Recorder};
use workbench_capture::replay::{self, ReplayOptions, ReplayState};
use workbench_testkit::mosquitto::Mosquitto;

/// Seconds with nanoseconds, then the rest: `1470818943.786368637|topic|qos|retain|...`.
const FORMAT: &str = "%U|%t|%q|%r|%C|%P|%x";

fn subscriber(port: u16, count: usize) -> Child {
    Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-V", "mqttv5"])
        .args(["-t", "plant/#", "-q", "2", "--retain-as-published"])
        .args(["-C", &count.to_string(), "-W", "60", "-F", FORMAT])
        .stdout(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub runs")
}

/// Waits until the subscriber's SUBSCRIBE is through, by publishing a marker it must print.
fn publish(port: u16, args: &[&str]) {
    let status = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-V", "mqttv5"])
        .args(args)
        .status()
        .expect("mosquitto_pub runs");
    assert!(status.success(), "mosquitto_pub {args:?}");
}

/// The subscriber's lines, split into (time in seconds, the rest).
fn output(child: Child) -> Vec<(f64, String)> {
    let mut child = child;
    let mut text = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut text)
        .expect("utf-8 output (payloads are in hex)");
    let _ = child.wait();
    text.lines()
        .map(|line| {
            let (time, rest) = line.split_once('|').expect("formatted line");
            (time.parse().expect("a time"), rest.to_string())
        })
        .collect()
}

fn wait_subscribed(port: u16) {
    // mosquitto_sub prints nothing on SUBACK: give it a moment, then prove it with a marker.
    std::thread::sleep(Duration::from_millis(300));
    publish(port, &["-t", "plant/ready", "-m", "ready", "-q", "1"]);
}

#[test]
fn a_recording_replayed_to_mosquitto_reads_the_same_in_mosquitto_sub() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (events_tx, mut events) = tokio::sync::mpsc::channel(1024);
    let settings = BrokerSettings {
        port: 0,
        port_fallback: false,
        ..BrokerSettings::default()
    };
    let broker = runtime
        .block_on(Broker::start(settings, Some(events_tx)))
        .expect("embedded broker");
    let port = broker.local_addr().port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    let recorder = Recorder::create(
        &path,
        RecordOptions {
            filters: vec!["plant/#".into()],
            ..RecordOptions::default()
        },
    )
    .unwrap();
    let recorder = std::sync::Arc::new(recorder);
    let pump_recorder = recorder.clone();
    let pump = runtime.spawn(async move {
        while let Some(event) = events.recv().await {
            if let BrokerEvent::Packets(batch) = event {
                for event in batch.events() {
                    pump_recorder.offer_event(event);
                }
            }
        }
    });

    let binary = dir.path().join("binary");
    std::fs::write(&binary, [0u8, 0xff, b'\n', b'|', 0x80, 0x7f, 0]).unwrap();
    let binary = binary.to_str().unwrap().to_string();
    let runs: Vec<Vec<&str>> = vec![
        vec!["-t", "plant/a/temp", "-m", "21.5", "-q", "0"],
        vec!["-t", "plant/a/blob", "-f", &binary, "-q", "1"],
        vec!["-t", "plant/b/state", "-m", "on", "-q", "2", "-r"],
        vec![
            "-t",
            "plant/b/json",
            "-m",
            "{\"x\": 1}",
            "-q",
            "1",
            "-D",
            "publish",
            "content-type",
            "application/json",
            "-D",
            "publish",
            "user-property",
            "site",
            "north",
        ],
        vec!["-t", "plant/c/empty", "-n", "-q", "0"],
        vec![
            "-t",
            "plant/c/retained-binary",
            "-f",
            &binary,
            "-q",
            "2",
            "-r",
        ],
    ];
    let expected = runs.len() + 1;
    let watch_original = subscriber(port, expected);
    wait_subscribed(port);
    for (index, run) in runs.iter().enumerate() {
        // Spaced so the timing has something to keep: 150 ms, then 400 ms, alternating.
        std::thread::sleep(Duration::from_millis(if index % 2 == 0 {
            150
        } else {
            400
        }));
        publish(port, run);
    }
    let original = output(watch_original);
    assert_eq!(original.len(), expected, "{original:?}");

    // Everything mosquitto_sub saw was recorded; stop and read the file back.
    let recorded_enough = || recorder.status().messages as usize >= expected;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !recorded_enough() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    pump.abort();
    let _ = runtime.block_on(pump);
    let recorder = std::sync::Arc::try_unwrap(recorder)
        .ok()
        .expect("the pump is gone");
    let status = recorder.stop();
    assert_eq!(status.messages as usize, expected, "{status:?}");
    assert_eq!(status.dropped, 0);
    runtime.block_on(broker.stop());

    // Replay at 1x to mosquitto, watched by a second mosquitto_sub.
    let mosquitto = Mosquitto::start(&[], None);
    let watch_replay = subscriber(mosquitto.port, expected);
    std::thread::sleep(Duration::from_millis(500));
    let replayed = runtime.block_on(async {
        let url = format!("mqtt://127.0.0.1:{}", mosquitto.port);
        let link = Link::connect(&LinkOptions::new(&url))
            .await
            .expect("connect");
        let handle = replay::start(&path, ReplayOptions::default(), link).expect("replay");
        handle.wait().await
    });
    assert_eq!(replayed.state, ReplayState::Finished, "{replayed:?}");
    assert_eq!(replayed.sent as usize, expected);
    assert_eq!(replayed.problems.count, 0);
    let again = output(watch_replay);

    // Byte for byte, in order.
    let lines = |o: &[(f64, String)]| o.iter().map(|(_, l)| l.clone()).collect::<Vec<_>>();
    assert_eq!(lines(&again), lines(&original));
    // The comparison sees what matters: binary bytes, QoS, retain, properties.
    let original_lines = lines(&original);
    assert!(
        original_lines.contains(&"plant/a/blob|1|0|||00ff0a7c807f00".to_string()),
        "{original_lines:?}"
    );
    assert!(
        original_lines.contains(&"plant/b/state|2|1|||6f6e".to_string()),
        "{original_lines:?}"
    );
    assert!(
        original_lines
            .contains(&"plant/b/json|1|0|application/json|site:north|7b2278223a20317d".to_string()),
        "{original_lines:?}"
    );
    // Timing at 1x: the same gaps from the first message, within a tolerance for delivery
    // jitter on a loaded machine (late by up to 1.5 s, early by up to 0.25 s: both brokers'
    // deliveries to mosquitto_sub are measured, not the replay's own clock). A replay without
    // pacing would deliver everything within milliseconds and fail by over a second.
    for index in 1..expected {
        let gap = |o: &[(f64, String)]| o[index].0 - o[0].0;
        let (was, now) = (gap(&original), gap(&again));
        assert!(
            now >= was - 0.25,
            "message {index} came {:.3} s early",
            was - now
        );
        assert!(
            now <= was + 1.5,
            "message {index} came {:.3} s late",
            now - was
        );
    }
}
