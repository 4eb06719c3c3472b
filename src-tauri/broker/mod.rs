//! The embedded broker: rumqttd as the routing engine behind our own front door.
//!
//! The front door owns every listening socket (TCP, TLS, WebSocket), decodes every packet in both
//! directions, authenticates, serves `$SYS`, reports each packet to the traffic model and relays to
//! rumqttd over a loopback link nobody else can reach, correcting rumqttd where it departs from the
//! MQTT specification. It must never import `tauri`, and never trust a byte a peer sends.
