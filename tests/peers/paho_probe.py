"""Probes of the embedded broker with Eclipse Paho, an independent MQTT client.

Usage: python3 paho_probe.py PROBE PORT. Exits 0 when the broker behaved as the specification
says, 1 (with a reason on stdout) when it did not.
"""

import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

HOST = "127.0.0.1"
PATIENCE = 20.0


def fail(reason):
    print(f"FAIL: {reason}")
    sys.exit(1)


def client(port, client_id="", clean=True, keepalive=30, session_expiry=None):
    c = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
    )
    connected = threading.Event()
    c.user_data_set({"connack": None, "messages": [], "props": None})

    def on_connect(cl, userdata, flags, reason_code, properties):
        userdata["connack"] = reason_code
        userdata["props"] = properties
        connected.set()

    def on_message(cl, userdata, message):
        userdata["messages"].append(message)

    c.on_connect = on_connect
    c.on_message = on_message
    props = None
    if session_expiry is not None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = session_expiry
    c.connect(HOST, port, keepalive=keepalive, clean_start=clean, properties=props)
    c.loop_start()
    if not connected.wait(PATIENCE):
        fail("no CONNACK")
    if c._userdata["connack"] != 0:
        fail(f"connection refused: {c._userdata['connack']}")
    return c


def wait_messages(c, count):
    deadline = time.time() + PATIENCE
    while len(c._userdata["messages"]) < count:
        if time.time() > deadline:
            fail(f"expected {count} messages, got {len(c._userdata['messages'])}")
        time.sleep(0.02)
    return c._userdata["messages"]


def subscribe(c, topic, qos=1):
    done = threading.Event()
    c.on_subscribe = lambda *args: done.set()
    c.subscribe(topic, qos=qos)
    if not done.wait(PATIENCE):
        fail("no SUBACK")


def stop(c):
    c.disconnect()
    c.loop_stop()


def user_properties(port):
    sub = client(port, "props-sub")
    subscribe(sub, "props/t")
    pub = client(port, "props-pub")
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = [("colour", "green"), ("unit", "°C")]
    props.ContentType = "application/json"
    props.UserProperty = ("x-mqtt-workbench-door", "q0")  # a forgery the broker must drop
    pub.publish("props/t", b'{"t": 21.5}', qos=1, properties=props).wait_for_publish(PATIENCE)
    message = wait_messages(sub, 1)[0]
    got = dict(message.properties.UserProperty)
    if got.get("colour") != "green" or got.get("unit") != "°C":
        fail(f"user properties lost: {message.properties}")
    if "x-mqtt-workbench-door" in got:
        fail("the door's marker leaked to a subscriber")
    if message.properties.ContentType != "application/json":
        fail(f"content type lost: {message.properties}")
    if message.qos != 1:
        fail(f"QoS 1 publish to a QoS 1 subscription arrived at QoS {message.qos}")
    stop(sub)
    stop(pub)


def message_expiry(port):
    # A persistent session subscribes, leaves; two messages are queued, one expiring in 1 s.
    sub = client(port, "expiry-sub", clean=False, session_expiry=300)
    subscribe(sub, "expiry/t")
    stop(sub)
    time.sleep(0.2)
    pub = client(port, "expiry-pub")
    short = Properties(PacketTypes.PUBLISH)
    short.MessageExpiryInterval = 1
    pub.publish("expiry/t", b"short-lived", qos=1, properties=short).wait_for_publish(PATIENCE)
    long = Properties(PacketTypes.PUBLISH)
    long.MessageExpiryInterval = 3600
    pub.publish("expiry/t", b"long-lived", qos=1, properties=long).wait_for_publish(PATIENCE)
    stop(pub)
    time.sleep(2.5)  # well past the short message's expiry
    back = client(port, "expiry-sub", clean=False, session_expiry=300)
    messages = wait_messages(back, 1)
    time.sleep(0.5)
    payloads = [m.payload for m in back._userdata["messages"]]
    if b"short-lived" in payloads:
        fail("an expired message was delivered")
    if payloads != [b"long-lived"]:
        fail(f"unexpected deliveries: {payloads}")
    remaining = messages[0].properties.MessageExpiryInterval
    if not 0 < remaining <= 3600:
        fail(f"the expiry interval was not passed on: {remaining}")
    stop(back)


def keepalive_zero(port):
    c = client(port, "no-keepalive", keepalive=0)
    subscribe(c, "ka/t")
    c.publish("ka/t", b"ping", qos=1).wait_for_publish(PATIENCE)
    wait_messages(c, 1)
    stop(c)


def assigned_id(port):
    c = client(port, "")
    props = c._userdata["props"]
    assigned = getattr(props, "AssignedClientIdentifier", None)
    if not assigned:
        fail(f"no Assigned Client Identifier in CONNACK: {props}")
    stop(c)


PROBES = {
    "user-properties": user_properties,
    "message-expiry": message_expiry,
    "keepalive-zero": keepalive_zero,
    "assigned-id": assigned_id,
}

if __name__ == "__main__":
    PROBES[sys.argv[1]](int(sys.argv[2]))
    print("ok")
