//! Independent peers: the mosquitto command-line clients, and a broker under test started in
//! process on a free loopback port.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use workbench_broker::{Broker, BrokerSettings};

/// How long a condition may take on a loaded machine before a test gives up.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The embedded broker on its own runtime, listening on a free loopback port.
pub struct TestBroker {
    pub runtime: tokio::runtime::Runtime,
    pub broker: Option<Broker>,
    pub address: SocketAddr,
}

impl TestBroker {
    pub fn start(mut settings: BrokerSettings) -> TestBroker {
        workbench_core::install_crypto_provider();
        settings.bind = IpAddr::V4(Ipv4Addr::LOCALHOST);
        settings.port = 0;
        settings.port_fallback = false;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let broker = runtime
            .block_on(Broker::start(settings, None))
            .expect("start the broker");
        let address = broker.local_addr();
        TestBroker {
            runtime,
            broker: Some(broker),
            address,
        }
    }

    pub fn default_settings() -> TestBroker {
        TestBroker::start(BrokerSettings::default())
    }

    pub fn port(&self) -> String {
        self.address.port().to_string()
    }

    /// The port of the listener with this scheme ("mqtt", "ws", "mqtts").
    pub fn port_of(&self, scheme: &str) -> String {
        self.broker()
            .listeners()
            .iter()
            .find(|l| l.scheme == scheme)
            .unwrap_or_else(|| panic!("no {scheme} listener"))
            .address
            .port()
            .to_string()
    }

    pub fn broker(&self) -> &Broker {
        self.broker.as_ref().expect("broker running")
    }

    /// Waits until a client with `client_id` holds a subscription to `filter`.
    pub fn wait_for_subscription(&self, client_id: &str, filter: &str) {
        wait_until(&format!("{client_id} subscribed to {filter}"), || {
            self.broker()
                .clients()
                .iter()
                .any(|c| c.client_id == client_id && c.subscriptions.contains_key(filter))
        });
    }

    /// Waits until no client with `client_id` is connected.
    pub fn wait_for_departure(&self, client_id: &str) {
        wait_until(&format!("{client_id} gone"), || {
            !self
                .broker()
                .clients()
                .iter()
                .any(|c| c.client_id == client_id)
        });
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        if let Some(broker) = self.broker.take() {
            self.runtime.block_on(broker.stop());
        }
    }
}

/// Polls `condition` until it holds, failing the test after [`PATIENCE`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `mosquitto_sub` with the given arguments (add `-C n` so it ends by itself).
pub fn mosquitto_sub(port: &str, args: &[&str]) -> Child {
    Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", port, "-W", "30"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub is installed (apt package mosquitto-clients)")
}

/// Runs `mosquitto_pub` to completion.
pub fn mosquitto_pub(port: &str, args: &[&str]) -> Output {
    Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", port])
        .args(args)
        .output()
        .expect("mosquitto_pub is installed (apt package mosquitto-clients)")
}

/// Waits for a `mosquitto_sub` to finish and returns its standard output.
pub fn finish(child: Child) -> String {
    let output = child.wait_with_output().expect("mosquitto_sub finished");
    assert!(
        output.status.success(),
        "mosquitto_sub failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A `mosquitto_sub` known to be subscribed: it also subscribes to a unique topic holding a
/// retained marker and has printed that marker (retained messages follow the SUBACK), so no
/// sleep is needed before publishing.
pub struct ReadySub {
    child: Child,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl ReadySub {
    /// Subscribes `-v` to `filter`; ends by itself after `count` messages on it.
    pub fn start(port: &str, filter: &str, count: usize, extra: &[&str]) -> ReadySub {
        use std::io::BufRead;
        static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let marker = format!(
            "ready-marker/{}-{}",
            std::process::id(),
            SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        assert!(
            mosquitto_pub(port, &["-t", &marker, "-m", "ready", "-r", "-q", "1"])
                .status
                .success()
        );
        let total = (count + 1).to_string();
        let mut args = vec!["-t", filter, "-t", &marker, "-C", &total, "-v"];
        args.extend_from_slice(extra);
        let mut child = mosquitto_sub(port, &args);
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("read mosquitto_sub");
        assert_eq!(
            first.trim_end(),
            format!("{marker} ready"),
            "the marker comes first"
        );
        ReadySub { child, stdout }
    }

    /// Waits for the remaining messages and returns them as `mosquitto_sub -v` printed them.
    pub fn finish(mut self) -> String {
        use std::io::Read;
        let mut rest = String::new();
        self.stdout
            .read_to_string(&mut rest)
            .expect("read mosquitto_sub");
        let status = self.child.wait().expect("mosquitto_sub finished");
        assert!(
            status.success(),
            "mosquitto_sub failed ({status}); printed {rest:?}"
        );
        rest
    }
}

/// A headless broker (`program broker ...`) that ignores a signal would keep a test reading its
/// output forever: after a generous wait it is killed, so the test fails (killed by SIGKILL)
/// instead of hanging.
pub fn kill_if_still_running(pid: u32, program: &str) {
    let marker = format!("{program}\0broker");
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(30));
        // Only if the pid is still this broker (not a process that took the number since).
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&marker) {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    });
}
