//! The classroom as a teacher turns it on: the student page over real HTTP (and nothing else
//! served), a student's client over WebSocket MQTT (Eclipse Paho, an independent client), the
//! class password, a port already in use, and the broker given back as it was.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use workbench_broker::BrokerSettings;
use workbench_classroom::{Classroom, ClassroomOptions};
use workbench_core::broker::service::BrokerService;
use workbench_core::changes::Changes;
use workbench_core::error::{Coded, ErrorCode};
use workbench_testkit::mosquitto::free_port;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A broker on loopback, as the app starts it.
fn broker(rt: &tokio::runtime::Runtime) -> Arc<BrokerService> {
    let settings = BrokerSettings {
        port: free_port(),
        port_fallback: false,
        ..BrokerSettings::default()
    };
    let service = Arc::new(BrokerService::new(
        settings,
        None,
        Arc::new(Changes::default()),
    ));
    rt.block_on(service.start(None)).expect("broker starts");
    service
}

/// One raw HTTP request; the whole answer as text (the server closes after it).
fn http(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

fn get(port: u16, path: &str) -> String {
    http(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
    )
}

fn student(ws_port: u16, args: &[&str]) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/ws_student.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(ws_port.to_string())
        .args(args)
        .output()
        .expect("python3 runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn the_page_is_served_and_a_student_publishes_over_websocket() {
    let rt = runtime();
    let service = broker(&rt);
    let classroom = Classroom::new(service.clone());
    assert!(!rt.block_on(classroom.status()).on, "off by default");
    let status = rt
        .block_on(classroom.turn_on(ClassroomOptions {
            page_port: Some(0),
            websocket_port: Some(0),
            password: None,
        }))
        .expect("classroom on");
    let (page, ws) = (
        status.page_port.expect("page port"),
        status.websocket_port.expect("ws port"),
    );
    assert!(ws != 0 && page != 0);
    assert!(status
        .urls
        .iter()
        .all(|u| u.ends_with(&format!(":{page}/"))));
    // The broker listens on every interface now.
    let broker_now = rt.block_on(service.status());
    assert!(!broker_now.settings.bind.is_loopback());

    let index = get(page, "/");
    assert!(index.starts_with("HTTP/1.1 200 OK\r\n"), "{index}");
    assert!(index.contains("Content-Type: text/html"), "{index}");
    assert!(
        index.contains("Content-Security-Policy: default-src 'none'"),
        "{index}"
    );
    assert!(index.contains(&format!("ws://*:{ws}")), "{index}");
    if workbench_classroom::page::BUILT {
        assert!(index.contains("<script"), "the built page: {index}");
    }
    let settings = get(page, "/classroom.json");
    assert!(settings.contains(&format!("\"wsPort\":{ws}")), "{settings}");
    assert!(settings.contains("\"password\":false"), "{settings}");
    // Nothing else: no other path, no directory, no file outside the page, no other method.
    for path in [
        "/assets/",
        "/assets",
        "/../Cargo.toml",
        "/Cargo.toml",
        "/src/lib.rs",
        "/etc/passwd",
    ] {
        let answer = get(page, path);
        assert!(answer.starts_with("HTTP/1.1 404"), "{path}: {answer}");
    }
    let post = http(page, "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi");
    assert!(post.starts_with("HTTP/1.1 405"), "{post}");
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
    assert!(http(page, &huge).starts_with("HTTP/1.1 431"));
    let head = http(page, "HEAD / HTTP/1.1\r\n\r\n");
    assert!(
        head.starts_with("HTTP/1.1 200") && head.ends_with("\r\n\r\n"),
        "{head}"
    );

    // A student's client over WebSocket: its message goes round through the broker, and the
    // teacher's side (the broker's client list) sees it while connected.
    let (ok, out) = student(ws, &["Alice~k3f", "class/hello", "hi from Alice"]);
    assert!(ok, "{out}");

    rt.block_on(classroom.turn_off());
    let after = rt.block_on(service.status());
    assert!(
        after.settings.bind.is_loopback(),
        "back to this computer only"
    );
    assert_eq!(after.settings.websocket_port, None);
    assert!(
        TcpStream::connect((Ipv4Addr::LOCALHOST, page)).is_err(),
        "page stopped"
    );
}

#[test]
fn a_class_password_is_asked_and_a_taken_port_is_a_clear_error() {
    let rt = runtime();
    let service = broker(&rt);
    let classroom = Classroom::new(service.clone());
    let status = rt
        .block_on(classroom.turn_on(ClassroomOptions {
            page_port: Some(0),
            websocket_port: Some(0),
            password: Some("blue-kite".into()),
        }))
        .expect("classroom on");
    let (page, ws) = (status.page_port.unwrap(), status.websocket_port.unwrap());
    assert!(get(page, "/classroom.json").contains("\"password\":true"));
    let (ok, out) = student(
        ws,
        &["Bob~a1b", "class/x", "1", "class", "wrong", "--refused"],
    );
    assert!(ok, "a wrong password is refused: {out}");
    let (ok, out) = student(ws, &["Bob~a1b", "class/x", "hello", "class", "blue-kite"]);
    assert!(ok, "the right one is accepted: {out}");
    rt.block_on(classroom.turn_off());
    assert!(rt.block_on(service.status()).settings.users.is_empty());

    // A port another program holds: a clear error, and the broker stays as it was.
    let taken = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).expect("bind");
    let port = taken.local_addr().unwrap().port();
    let error = rt
        .block_on(classroom.turn_on(ClassroomOptions {
            page_port: Some(port),
            websocket_port: Some(0),
            password: None,
        }))
        .expect_err("the port is taken");
    assert_eq!(error.code(), ErrorCode::PortInUse);
    assert!(error.to_string().contains(&port.to_string()), "{error}");
    let now = rt.block_on(service.status());
    assert!(now.running && now.settings.bind.is_loopback());
    assert!(!rt.block_on(classroom.status()).on);
}

#[test]
fn broker_settings_saved_while_on_do_not_keep_the_classroom_open() {
    use workbench_core::broker::saved::{self, SavedSettings};
    let rt = runtime();
    let service = broker(&rt);
    let dir = tempfile::tempdir().expect("a folder");
    let path = dir.path().join(saved::BROKER_FILE);
    let secrets = Arc::new(workbench_secrets::Secrets::memory_only("test"));
    let store = Arc::new(SavedSettings {
        path: Some(path.clone()),
        secrets: secrets.clone(),
    });
    let classroom = Classroom::new(service.clone()).saving_to(store);
    rt.block_on(classroom.turn_on(ClassroomOptions {
        page_port: Some(0),
        websocket_port: Some(0),
        password: Some("blue-kite".into()),
    }))
    .expect("classroom on");
    // The teacher changes the broker's limits in the Broker tab meanwhile: what runs is saved.
    let mut changed = rt.block_on(service.status()).settings;
    changed.limits.max_packet_size = 1 << 20;
    rt.block_on(service.start(Some(changed.clone())))
        .expect("restart");
    saved::save(&path, &changed, &secrets).expect("saved");
    assert!(!saved::load(&path, &secrets).settings.bind.is_loopback());

    rt.block_on(classroom.turn_off());
    let back = saved::load(&path, &secrets).settings;
    assert!(
        back.bind.is_loopback(),
        "the file is back to this computer only"
    );
    assert!(back.users.is_empty(), "the class password is gone from it");
    assert_eq!(
        back.limits.max_packet_size,
        1 << 20,
        "the teacher's change stays"
    );
}
