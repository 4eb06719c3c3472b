//! RabbitMQ (Debian's `rabbitmq-server`, 3.10 on Debian 12) as a real peer for the AMQP tests:
//! one node per test on free loopback ports, with its own data, log and config folder, its own
//! Erlang cookie (HOME) and its own epmd, the management and MQTT plugins enabled. Stopped (the
//! node killed, its epmd told to exit) when dropped; nothing is left behind.
//!
//! Starting takes about 5 s on an idle 2-core machine and 10 to 20 s while others build (most of
//! it the Erlang VM booting and the plugins starting). The server's scripts under
//! `/usr/lib/rabbitmq/bin` are run directly, as the current user: `/usr/sbin/rabbitmq-server`
//! switches to the `rabbitmq` user, which could not use the test's folder.

use crate::mosquitto::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = "/usr/lib/rabbitmq/bin";
/// The longest a start may take before the test fails (generous: the machine may be busy).
const START_LIMIT: Duration = Duration::from_secs(180);

static NODES: AtomicU32 = AtomicU32::new(0);

/// A running RabbitMQ node.
pub struct RabbitMq {
    child: Option<Child>,
    /// AMQP 0-9-1 port (plain).
    pub amqp_port: u16,
    /// AMQP over TLS, when started with [`RabbitMq::start_tls`].
    pub amqps_port: Option<u16>,
    /// The management plugin's HTTP API and UI.
    pub management_port: u16,
    /// The MQTT plugin's listener.
    pub mqtt_port: u16,
    pub epmd_port: u16,
    /// `name@localhost`, for `rabbitmqctl -n`.
    pub node: String,
    /// How long the start took, until `await_startup` answered.
    pub start_time: Duration,
    dir: tempfile::TempDir,
}

/// Whether this machine has RabbitMQ's server (the Debian package).
pub fn available() -> bool {
    Path::new(BIN).join("rabbitmq-server").exists()
}

impl RabbitMq {
    /// Starts a node and waits until it is ready (the plugins included).
    pub fn start() -> RabbitMq {
        RabbitMq::start_with(None)
    }

    /// Starts a node with a TLS listener as well (`amqps_port`) serving `ca`'s server certificate
    /// (for `localhost` and 127.0.0.1); clients are not asked for certificates.
    pub fn start_tls(ca: &crate::mosquitto::TestCa) -> RabbitMq {
        RabbitMq::start_with(Some(ca))
    }

    fn start_with(tls: Option<&crate::mosquitto::TestCa>) -> RabbitMq {
        assert!(
            available(),
            "RabbitMQ is not installed: apt-get install rabbitmq-server (make test-rabbitmq does)"
        );
        let dir = tempfile::tempdir().expect("temporary directory");
        let n = NODES.fetch_add(1, Ordering::Relaxed);
        let mut r = RabbitMq {
            child: None,
            amqp_port: free_port(),
            amqps_port: tls.map(|_| free_port()),
            management_port: free_port(),
            mqtt_port: free_port(),
            epmd_port: free_port(),
            node: format!("wbtest{}n{n}@localhost", std::process::id()),
            start_time: Duration::ZERO,
            dir,
        };
        let dist_port = free_port();
        let d = r.dir.path();
        std::fs::write(
            d.join("rabbitmq.conf"),
            format!(
                "management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {}\n\
                 mqtt.listeners.tcp.default = 127.0.0.1:{}\n\
                 # Fast statistics for the management API's rates and depths.\n\
                 collect_statistics_interval = 1000\n",
                r.management_port, r.mqtt_port
            ),
        )
        .expect("write rabbitmq.conf");
        if let (Some(ca), Some(port)) = (tls, r.amqps_port) {
            let mut conf = std::fs::read_to_string(d.join("rabbitmq.conf")).expect("config");
            conf.push_str(&format!(
                "listeners.ssl.default = 127.0.0.1:{port}\nssl_options.cacertfile = {}\n\
                 ssl_options.certfile = {}\nssl_options.keyfile = {}\n\
                 ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n",
                ca.ca.display(),
                ca.server_cert.display(),
                ca.server_key.display()
            ));
            std::fs::write(d.join("rabbitmq.conf"), conf).expect("write rabbitmq.conf");
        }
        std::fs::write(
            d.join("enabled_plugins"),
            "[rabbitmq_management,rabbitmq_mqtt].\n",
        )
        .expect("write enabled_plugins");
        // An empty environment file, so /etc/rabbitmq/rabbitmq-env.conf is not read.
        std::fs::write(d.join("rabbitmq-env.conf"), "").expect("write rabbitmq-env.conf");
        let log = std::fs::File::create(d.join("server.out")).expect("server output file");
        let started = Instant::now();
        let child = r
            .command("rabbitmq-server")
            .env("RABBITMQ_CONFIG_FILE", d.join("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", d.join("advanced.config"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d.join("enabled_plugins"))
            .env("RABBITMQ_MNESIA_BASE", d.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", d.join("log"))
            .env("RABBITMQ_PID_FILE", d.join("pid"))
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", r.amqp_port.to_string())
            .env("RABBITMQ_DIST_PORT", dist_port.to_string())
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-kernel inet_dist_use_interface {127,0,0,1}",
            )
            // The script then execs the Erlang VM: the child is the node itself.
            .env("RUNNING_UNDER_SYSTEMD", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("server output file"))
            .stderr(log)
            .spawn()
            .expect("start rabbitmq-server");
        r.child = Some(child);
        r.wait_ready(started);
        r.start_time = started.elapsed();
        r
    }

    /// A command from RabbitMQ's bin folder with this node's environment (cookie, epmd).
    fn command(&self, program: &str) -> Command {
        let d = self.dir.path();
        let mut cmd = Command::new(Path::new(BIN).join(program));
        cmd.env("HOME", d)
            .env("RABBITMQ_CONF_ENV_FILE", d.join("rabbitmq-env.conf"))
            .env("RABBITMQ_NODENAME", &self.node)
            .env("ERL_EPMD_PORT", self.epmd_port.to_string())
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            // Lets `epmd -kill` stop it even while the killed node is still registered.
            .env("ERL_EPMD_RELAXED_COMMAND_CHECK", "1");
        cmd
    }

    fn wait_ready(&mut self, started: Instant) {
        loop {
            let out = self.ctl(&["await_startup", "--timeout", "60"]);
            if out.status.success() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "rabbitmq-server exited ({status}) while starting:\n{}",
                    self.output_tail()
                );
            }
            if started.elapsed() > START_LIMIT {
                panic!(
                    "rabbitmq-server was not ready after {START_LIMIT:?}:\n{}",
                    self.output_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn output_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("server.out")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Runs `rabbitmqctl -n <node> ARGS`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        self.command("rabbitmqctl")
            .arg("-n")
            .arg(&self.node)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run rabbitmqctl")
    }

    /// Runs `rabbitmqctl`, failing the test if it fails; returns its standard output.
    pub fn ctl_ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args);
        assert!(
            out.status.success(),
            "rabbitmqctl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `rabbitmqctl list_queues name messages` for a vhost: (queue, messages).
    pub fn list_queues(&self, vhost: &str) -> Vec<(String, u64)> {
        let out = self.ctl_ok(&[
            "list_queues",
            "-p",
            vhost,
            "--quiet",
            "--no-table-headers",
            "name",
            "messages",
        ]);
        out.lines()
            .filter_map(|line| {
                let mut cols = line.split('\t');
                let name = cols.next()?.to_string();
                let messages = cols.next()?.trim().parse().ok()?;
                Some((name, messages))
            })
            .collect()
    }

    /// Adds a user with full permissions on a vhost.
    pub fn add_user(&self, user: &str, password: &str, vhost: &str) {
        self.ctl_ok(&["add_user", user, password]);
        self.ctl_ok(&["set_permissions", "-p", vhost, user, ".*", ".*", ".*"]);
    }

    /// `amqp://guest:guest@127.0.0.1:<port>/<vhost>` (vhost `/` written `%2f`).
    pub fn url(&self, vhost: &str) -> String {
        let vhost = if vhost == "/" { "%2f" } else { vhost };
        format!("amqp://guest:guest@127.0.0.1:{}/{vhost}", self.amqp_port)
    }

    /// The folder with the node's data and logs.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Stops the node (killed: the data folder goes with it) and its epmd.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The node's epmd: told to exit until it says so (or is gone).
        for _ in 0..50 {
            let out = Command::new("epmd")
                .arg("-port")
                .arg(self.epmd_port.to_string())
                .arg("-kill")
                .env("ERL_EPMD_ADDRESS", "127.0.0.1")
                .stdin(Stdio::null())
                .output();
            match out {
                Ok(out) if out.status.success() && !out.stdout.starts_with(b"Killed") => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                _ => break,
            }
        }
    }
}

impl Drop for RabbitMq {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a Python program with pika (`python3 -c program args...`), the tests' independent AMQP
/// peer; fails the test with pika's error when it fails. Returns its standard output.
pub fn pika(program: &str, args: &[String]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(program)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "pika failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// [`pika`] from async code, on a blocking thread.
pub async fn pika_async(program: &'static str, args: Vec<String>) -> String {
    tokio::task::spawn_blocking(move || pika(program, &args))
        .await
        .expect("python ran")
}
