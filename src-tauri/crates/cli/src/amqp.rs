//! `amqp`: RabbitMQ (AMQP 0-9-1) from the terminal, through `workbench-amqp`: declare queues and
//! exchanges, bind them, publish, and consume with the deliveries printed one per line as
//! `mqttwb broker` prints packets. Everything the broker or a producer controls (names, bodies,
//! properties) reaches the terminal escaped and cut short; passwords are never printed.

use crate::broker::{log_text, stop_requested};
use std::process::ExitCode;
use workbench_amqp::*;

/// The commands and options, as `mqttwb --help` lists them.
pub const OPTIONS: &str = "\
AMQP 0-9-1 / RabbitMQ (mqttwb amqp COMMAND URL [OPTIONS]; URL amqp://user:pass@host:5672/vhost
or amqps://..., the default vhost written %2f; MQTTWB_AMQP_PASSWORD overrides the URL's password;
--ca FILE trusts a PEM CA for amqps besides the system's):
  declare URL --queue Q [--durable] [--exclusive] [--auto-delete] [--passive] [--arg K=V]...
  declare URL --exchange X --type direct|fanout|topic|headers [--durable] [--auto-delete] [--passive]
  bind|unbind URL --queue Q --exchange X [--key K] [--arg K=V]...
  publish URL [--exchange X] --key K -m TEXT|-f FILE [--count N] [--mandatory] [--persistent]
              [--content-type T] [--header K=V]... [--correlation-id ID] [--reply-to Q]
              [--expiration MS] [--message-id ID] [--type T] [--app-id A] [--priority N]
  consume URL --queue Q [--ack manual|auto] [--prefetch N (100)] [--count N] [--requeue]
              prints each delivery (<exchange or (default)>/<routing key>, tag, properties,
              body); with manual acks each is acked after printing, or with --requeue nacked
              back to the queue (a redelivery demo); stops after N or at Ctrl-C
  queues URL [--management-port P (15672)]
              the vhost's queues from the management plugin's HTTP API: depth (ready +
              unacknowledged), consumers, publish and deliver rates per second
  K=V values: whole numbers and true/false are sent typed (x-message-ttl=60000), the rest as text
";

/// Runs `amqp ARGS`.
pub fn run(program: &str, usage: &str, args: &[String]) -> ExitCode {
    let Some(command) = args.first().map(String::as_str) else {
        eprintln!(
            "{program} amqp: which command? declare, bind, unbind, publish, consume or queues\n\n{usage}"
        );
        return ExitCode::from(2);
    };
    let parsed = match Args::parse(&args[1..]) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{program} amqp {}: {e}", log_text(command, 20));
            return ExitCode::from(2);
        }
    };
    let rt = match crate::run::runtime(program, "amqp") {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = rt.block_on(async {
        match command {
            "declare" => declare(&parsed).await,
            "bind" => bind(&parsed, true).await,
            "unbind" => bind(&parsed, false).await,
            "publish" => publish(&parsed).await,
            "consume" => consume(&parsed).await,
            "queues" => queues(&parsed).await,
            other => Err(Failure::Usage(format!(
                "unknown command '{}': declare, bind, unbind, publish, consume or queues",
                log_text(other, 20)
            ))),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => {
            eprintln!("{program} amqp {}: {e}", log_text(command, 20));
            ExitCode::from(2)
        }
        Err(Failure::Broker(e)) => {
            eprintln!(
                "{program} amqp {}: {}",
                log_text(command, 20),
                log_text(&e.to_string(), 400)
            );
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    Usage(String),
    Broker(AmqpError),
}

impl From<AmqpError> for Failure {
    fn from(e: AmqpError) -> Failure {
        match e {
            AmqpError::BadInput(_) | AmqpError::BadUrl(_) => Failure::Usage(e.to_string()),
            e => Failure::Broker(e),
        }
    }
}

/// The command line after the command: the URL, flags, and `--name value` pairs.
#[derive(Default)]
struct Args {
    url: String,
    flags: Vec<String>,
    values: Vec<(String, String)>,
}

const FLAGS: &[&str] = &[
    "--durable",
    "--exclusive",
    "--auto-delete",
    "--passive",
    "--mandatory",
    "--persistent",
    "--requeue",
];
const VALUES: &[&str] = &[
    "--queue",
    "--exchange",
    "--type",
    "--key",
    "--arg",
    "-m",
    "-f",
    "--count",
    "--content-type",
    "--header",
    "--correlation-id",
    "--reply-to",
    "--expiration",
    "--message-id",
    "--app-id",
    "--priority",
    "--ack",
    "--prefetch",
    "--management-port",
    "--ca",
];

impl Args {
    fn parse(args: &[String]) -> Result<Args, String> {
        let mut out = Args::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if FLAGS.contains(&a.as_str()) {
                out.flags.push(a.clone());
            } else if VALUES.contains(&a.as_str()) {
                let v = it
                    .next()
                    .ok_or_else(|| format!("{a} needs a value"))?
                    .clone();
                out.values.push((a.clone(), v));
            } else if a.starts_with('-') {
                return Err(format!("unknown option '{}'", log_text(a, 40)));
            } else if out.url.is_empty() {
                out.url = a.clone();
            } else {
                return Err(format!("unexpected argument '{}'", log_text(a, 40)));
            }
        }
        if out.url.is_empty() {
            return Err("needs the broker's URL (amqp://user:pass@host:5672/vhost)".into());
        }
        Ok(out)
    }

    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.values
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, Failure> {
        self.value(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    Failure::Usage(format!("{name} takes a number, not '{}'", log_text(v, 40)))
                })
            })
            .transpose()
    }

    fn required(&self, name: &str) -> Result<String, Failure> {
        self.value(name)
            .map(str::to_string)
            .ok_or_else(|| Failure::Usage(format!("needs {name}")))
    }

    /// `K=V` pairs, numbers and booleans typed.
    fn pairs(&self, name: &str) -> Result<Vec<(String, HeaderValue)>, Failure> {
        self.all(name)
            .into_iter()
            .map(|pair| {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    Failure::Usage(format!("{name} takes K=V, not '{}'", log_text(pair, 40)))
                })?;
                let value = match v {
                    "true" => HeaderValue::Bool(true),
                    "false" => HeaderValue::Bool(false),
                    v => v
                        .parse::<i64>()
                        .map(HeaderValue::Int)
                        .unwrap_or_else(|_| HeaderValue::Text(v.to_string())),
                };
                Ok((k.to_string(), value))
            })
            .collect()
    }

    async fn connect(&self) -> Result<AmqpSession, Failure> {
        let mut target = AmqpTarget::parse(&self.url)?;
        if let Ok(password) = std::env::var("MQTTWB_AMQP_PASSWORD") {
            target = target.with_password(password);
        }
        let ca_pem = match self.value("--ca") {
            None => None,
            Some(path) => Some(read_ca(path)?),
        };
        let options = AmqpOptions {
            connection_name: "mqttwb amqp".into(),
            ca_pem,
            ..AmqpOptions::default()
        };
        Ok(AmqpSession::connect(&target, options, None).await?)
    }
}

/// A CA file's PEM text (at most 1 MiB: a CA bundle, not anything else).
fn read_ca(path: &str) -> Result<String, Failure> {
    use std::io::Read;
    let shown = log_text(path, 100);
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::Usage(format!("cannot open --ca {shown}: {e}")))?;
    let mut text = String::new();
    file.take(1 << 20)
        .read_to_string(&mut text)
        .map_err(|e| Failure::Usage(format!("cannot read --ca {shown}: {e}")))?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(Failure::Usage(format!(
            "--ca {shown} holds no PEM certificate"
        )));
    }
    Ok(text)
}

async fn declare(a: &Args) -> Result<(), Failure> {
    let s = a.connect().await?;
    match (a.value("--queue"), a.value("--exchange")) {
        (Some(queue), None) => {
            let q = s
                .declare_queue(&QueueSpec {
                    name: queue.to_string(),
                    passive: a.flag("--passive"),
                    durable: a.flag("--durable"),
                    exclusive: a.flag("--exclusive"),
                    auto_delete: a.flag("--auto-delete"),
                    arguments: a.pairs("--arg")?,
                })
                .await?;
            println!(
                "queue {}: {} messages ready, {} consumers",
                log_text(&q.name, 255),
                q.messages,
                q.consumers
            );
        }
        (None, Some(exchange)) => {
            let kind: ExchangeType = a.value("--type").unwrap_or("direct").parse()?;
            s.declare_exchange(&ExchangeSpec {
                name: exchange.to_string(),
                kind,
                passive: a.flag("--passive"),
                durable: a.flag("--durable"),
                auto_delete: a.flag("--auto-delete"),
                internal: false,
                arguments: a.pairs("--arg")?,
            })
            .await?;
            println!("exchange {} ({}): ok", log_text(exchange, 255), kind.name());
        }
        _ => return Err(Failure::Usage("needs --queue Q or --exchange X".into())),
    }
    let _ = s.close().await;
    Ok(())
}

async fn bind(a: &Args, bind: bool) -> Result<(), Failure> {
    let spec = BindingSpec {
        queue: a.required("--queue")?,
        exchange: a.required("--exchange")?,
        routing_key: a.value("--key").unwrap_or_default().to_string(),
        arguments: a.pairs("--arg")?,
    };
    let s = a.connect().await?;
    if bind {
        s.bind(&spec).await?;
    } else {
        s.unbind(&spec).await?;
    }
    println!(
        "{} {} {} {} (key '{}')",
        if bind { "bound" } else { "unbound" },
        log_text(&spec.queue, 255),
        if bind { "to" } else { "from" },
        log_text(&spec.exchange, 255),
        log_text(&spec.routing_key, 255)
    );
    let _ = s.close().await;
    Ok(())
}

async fn publish(a: &Args) -> Result<(), Failure> {
    let body: bytes::Bytes = match (a.value("-m"), a.value("-f")) {
        (Some(text), None) => text.to_string().into(),
        (None, Some(path)) => std::fs::read(path)
            .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", log_text(path, 100))))?
            .into(),
        _ => {
            return Err(Failure::Usage(
                "needs -m TEXT or -f FILE (one of them)".into(),
            ))
        }
    };
    let owned = |name: &str| a.value(name).map(str::to_string);
    let properties = AmqpProperties {
        content_type: owned("--content-type"),
        headers: a.pairs("--header")?,
        delivery_mode: a.flag("--persistent").then_some(2),
        priority: a.number("--priority")?,
        correlation_id: owned("--correlation-id"),
        reply_to: owned("--reply-to"),
        expiration: owned("--expiration"),
        message_id: owned("--message-id"),
        kind: owned("--type"),
        app_id: owned("--app-id"),
        ..AmqpProperties::default()
    };
    let message = OutgoingMessage {
        exchange: a.value("--exchange").unwrap_or_default().to_string(),
        routing_key: a.required("--key")?,
        body,
        properties,
        mandatory: a.flag("--mandatory"),
    };
    let count: u64 = a.number("--count")?.unwrap_or(1);
    let s = a.connect().await?;
    let topic = topic_for(&message.exchange, &message.routing_key);
    for _ in 0..count {
        let outcome = s.publish(&message).await?;
        let said = match outcome {
            PublishOutcome::Accepted => "accepted",
            PublishOutcome::Unroutable => "returned: no queue is bound to receive it",
            PublishOutcome::Refused => "refused by the broker (basic.nack)",
        };
        println!(
            "> {} ({} bytes): {said}",
            log_text(&topic, 300),
            message.body.len()
        );
    }
    let _ = s.close().await;
    Ok(())
}

/// One delivery as a line: `< (default)/hello #1 redelivered [content-type: text/plain] 12 bytes: Hello World!`
pub fn delivery_line(d: &AmqpDelivery) -> String {
    let mut line = format!("< {} #{}", log_text(&d.topic(), 300), d.delivery_tag);
    if d.redelivered {
        line.push_str(" redelivered");
    }
    let fields = d.properties.fields();
    if !fields.is_empty() {
        let shown: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{k}: {}", log_text(v, 80)))
            .collect();
        line.push_str(&format!(" [{}]", shown.join(", ")));
    }
    line.push_str(&format!(" {} bytes: ", d.body.len()));
    match std::str::from_utf8(&d.body) {
        Ok(text) => line.push_str(&log_text(text, 200)),
        Err(_) => line.push_str("(binary)"),
    }
    line
}

async fn consume(a: &Args) -> Result<(), Failure> {
    let ack: AckMode = a.value("--ack").unwrap_or("manual").parse()?;
    let spec = ConsumeSpec {
        queue: a.required("--queue")?,
        ack,
        prefetch: a.number("--prefetch")?.unwrap_or(DEFAULT_PREFETCH),
        ..ConsumeSpec::default()
    };
    let count: Option<u64> = a.number("--count")?;
    let requeue = a.flag("--requeue");
    let s = a.connect().await?;
    let mut c = s.consume(&spec).await?;
    println!(
        "consuming from {} on {} ({} acks{}); Ctrl-C stops",
        log_text(&spec.queue, 255),
        log_text(s.target(), 300),
        if ack == AckMode::Manual {
            "manual"
        } else {
            "automatic"
        },
        if ack == AckMode::Manual {
            format!(", prefetch {}", spec.prefetch)
        } else {
            String::new()
        }
    );
    let stop = stop_requested();
    tokio::pin!(stop);
    let mut seen = 0u64;
    while count.is_none_or(|n| seen < n) {
        let d = tokio::select! {
            d = c.next() => d,
            _ = &mut stop => break,
        };
        let Some(d) = d else {
            if let Some(e) = c.ended() {
                return Err(Failure::Broker(e));
            }
            break;
        };
        println!("{}", delivery_line(&d));
        if ack == AckMode::Manual {
            if requeue {
                c.nack(d.delivery_tag, false, true).await?;
            } else {
                c.ack(d.delivery_tag, false).await?;
            }
        }
        seen += 1;
    }
    if c.dropped() > 0 {
        eprintln!(
            "{} deliveries were not printed (the terminal was too slow)",
            c.dropped()
        );
    }
    let _ = c.cancel().await;
    let _ = s.close().await;
    Ok(())
}

async fn queues(a: &Args) -> Result<(), Failure> {
    let mut target = AmqpTarget::parse(&a.url)?;
    if let Ok(password) = std::env::var("MQTTWB_AMQP_PASSWORD") {
        target = target.with_password(password);
    }
    let port = a
        .number("--management-port")?
        .unwrap_or(workbench_amqp::management::MANAGEMENT_PORT);
    let api = ManagementApi::for_target(&target, port);
    let queues = api.queues(&target.vhost).await?;
    println!(
        "{:<32} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "queue", "messages", "ready", "unacked", "consumers", "in/s", "out/s"
    );
    for q in &queues {
        println!(
            "{:<32} {:>9} {:>9} {:>9} {:>9} {:>9.1} {:>9.1}",
            log_text(&q.name, 255),
            q.messages,
            q.messages_ready,
            q.messages_unacknowledged,
            q.consumers,
            q.publish_rate,
            q.deliver_rate
        );
    }
    Ok(())
}
