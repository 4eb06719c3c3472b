//! Helpers shared by the integration and end-to-end tests.
#![allow(dead_code)]

pub mod mosquitto;
pub mod peers;
pub mod raw;
pub mod webdriver;
