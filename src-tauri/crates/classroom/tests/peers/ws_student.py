"""A student's client as the page would be, played by Eclipse Paho over WebSocket.

Usage: python3 ws_student.py PORT CLIENT_ID TOPIC PAYLOAD [USERNAME PASSWORD] [--refused]
Connects to ws://127.0.0.1:PORT/mqtt, subscribes to TOPIC, publishes PAYLOAD to it and waits for
it to come back through the broker. With --refused, expects the broker to refuse the connection.
Exits 0 with "OK" when things went as expected, 1 with a reason otherwise.
"""

import sys
import threading

import paho.mqtt.client as mqtt

PATIENCE = 20.0


def main():
    args = [a for a in sys.argv[1:] if a != "--refused"]
    refused = "--refused" in sys.argv
    port, client_id, topic, payload = int(args[0]), args[1], args[2], args[3]
    c = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv311,
        transport="websockets",
    )
    c.ws_set_options(path="/mqtt")
    if len(args) >= 6:
        c.username_pw_set(args[4], args[5])
    connected, got = threading.Event(), threading.Event()
    state = {"rc": None}

    def on_connect(cl, userdata, flags, reason_code, properties):
        state["rc"] = reason_code
        connected.set()

    def on_disconnect(cl, userdata, flags, reason_code, properties):
        connected.set()

    def on_message(cl, userdata, message):
        if message.payload.decode() == payload:
            got.set()

    c.on_connect, c.on_disconnect, c.on_message = on_connect, on_disconnect, on_message
    try:
        c.connect("127.0.0.1", port, keepalive=30)
    except OSError as error:
        if refused:
            print("OK")
            return 0
        print(f"FAIL: cannot connect: {error}")
        return 1
    c.loop_start()
    if not connected.wait(PATIENCE):
        print("FAIL: no answer to CONNECT")
        return 1
    ok = state["rc"] is not None and not state["rc"].is_failure
    if refused:
        c.loop_stop()
        print("OK" if not ok else "FAIL: the broker accepted a wrong password")
        return 0 if not ok else 1
    if not ok:
        print(f"FAIL: refused: {state['rc']}")
        return 1
    c.subscribe(topic, qos=1)
    c.publish(topic, payload, qos=1)
    if not got.wait(PATIENCE):
        print("FAIL: the message did not come back")
        return 1
    c.disconnect()
    c.loop_stop()
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
