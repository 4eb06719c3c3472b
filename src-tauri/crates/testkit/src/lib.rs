//! Helpers the workspace's integration tests, benchmarks and end-to-end tests share. Used as a
//! dev-dependency only: tests run against real peers, not mocks.
//!
//! - [`raw`]: a hand-rolled MQTT client over a plain socket, for exactly what bytes a broker sends.
//! - [`mosquitto`]: mosquitto as an external broker (plain, with passwords, with TLS), and a
//!   throw-away certificate authority.
//! - [`peers`]: the mosquitto command-line clients, and the embedded broker under test on a free
//!   loopback port.
//! - [`rabbitmq`]: RabbitMQ on free ports with its own data folder, for the AMQP tests.

pub mod mosquitto;
pub mod peers;
pub mod rabbitmq;
pub mod raw;
