//! Client sessions: the user's own MQTT clients (rumqttc) to the embedded broker or any external
//! broker, with reconnect, live subscriptions and a complete packet log (CONNECT included, logged
//! where it is sent since rumqttc does not emit it). Never imports `tauri`.
