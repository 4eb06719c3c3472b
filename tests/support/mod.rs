//! Helpers for the end-to-end tests: the window driver here, the peers from workbench-testkit.
#![allow(dead_code)]

pub mod webdriver;

pub use workbench_testkit::{mosquitto, peers, raw};
