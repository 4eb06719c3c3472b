//! TLS on both sides of the proxy: an mqtts upstream (mosquitto requiring a client certificate)
//! reached with the user's CA and client certificate; the same upstream without the client
//! certificate fails in words and the device gets "server unavailable"; and a TLS listener with
//! the user's certificate that mosquitto_pub reaches with `--cafile`.

mod common;

use common::Running;
use workbench_proxy::{ClientState, ListenKind, ProxySettings};
use workbench_testkit::mosquitto::{Mosquitto, MosquittoTls, TestCa};
use workbench_testkit::peers::{mosquitto_pub, wait_until, ReadySub};

fn tls_mosquitto(ca: &TestCa) -> Mosquitto {
    Mosquitto::start(
        &[],
        Some(MosquittoTls {
            ca: &ca.ca,
            cert: &ca.server_cert,
            key: &ca.server_key,
            require_client_cert: true,
        }),
    )
}

fn text(path: &std::path::Path) -> Option<String> {
    Some(path.display().to_string())
}

#[test]
fn an_mqtts_upstream_with_a_client_certificate_is_reached() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = TestCa::create(dir.path());
    let mosquitto = tls_mosquitto(&ca);
    let tls_port = mosquitto.tls_port.expect("a TLS port");
    let mut settings = ProxySettings::new(0, &format!("mqtts://localhost:{tls_port}"));
    settings.upstream.ca_file = text(&ca.ca);
    settings.upstream.client_cert_file = text(&ca.client_cert);
    settings.upstream.client_key_file = text(&ca.client_key);
    let running = Running::start(settings);
    let subscriber = ReadySub::start(&mosquitto.port.to_string(), "proxy/tls", 1, &[]);
    let out = mosquitto_pub(
        &running.port(),
        &["-i", "tls-dev", "-t", "proxy/tls", "-m", "sealed"],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(subscriber.finish().trim_end(), "proxy/tls sealed");
}

#[test]
fn a_tls_failure_upstream_is_shown_in_words_and_answered_unavailable() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = TestCa::create(dir.path());
    let mosquitto = tls_mosquitto(&ca);
    let tls_port = mosquitto.tls_port.expect("a TLS port");
    // The system's roots do not know the test CA.
    let running = Running::start(ProxySettings::new(
        0,
        &format!("mqtts://localhost:{tls_port}"),
    ));
    let out = mosquitto_pub(&running.port(), &["-i", "tls-bad", "-t", "a", "-m", "x"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unavailable"),
        "{out:?}"
    );
    wait_until("the TLS failure in words", || {
        running.row("tls-bad").is_some_and(|r| {
            r.state == ClientState::Refused && r.detail.contains("not signed by a trusted CA")
        })
    });
}

#[test]
fn a_tls_listener_serves_devices_with_the_users_certificate() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = TestCa::create(dir.path());
    let mosquitto = Mosquitto::start(&[], None);
    let mut settings = ProxySettings::new(0, &format!("mqtt://127.0.0.1:{}", mosquitto.port));
    settings.listen = ListenKind::Tls;
    settings.cert_path = Some(ca.server_cert.clone());
    settings.key_path = Some(ca.server_key.clone());
    let running = Running::start(settings);
    let subscriber = ReadySub::start(&mosquitto.port.to_string(), "proxy/in-tls", 1, &[]);
    let cafile = ca.ca.display().to_string();
    let out = mosquitto_pub(
        &running.port(),
        &[
            "--cafile",
            &cafile,
            "-i",
            "tls-in",
            "-t",
            "proxy/in-tls",
            "-m",
            "wrapped",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(subscriber.finish().trim_end(), "proxy/in-tls wrapped");
    assert!(running.row("tls-in").is_some());
}
