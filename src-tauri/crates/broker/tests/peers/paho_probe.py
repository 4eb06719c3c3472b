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


def client(port, client_id="", clean=True, keepalive=30, session_expiry=None,
           protocol=mqtt.MQTTv5, transport="tcp"):
    c = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
        transport=transport,
    )
    if transport == "websockets":
        c.ws_set_options(path="/mqtt")
    connected = threading.Event()
    c.user_data_set({"connack": None, "messages": [], "props": None})

    def on_connect(cl, userdata, flags, reason_code, properties):
        userdata["connack"] = reason_code
        userdata["flags_session_present"] = flags.session_present
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
    if protocol == mqtt.MQTTv5:
        c.connect(HOST, port, keepalive=keepalive, clean_start=clean, properties=props)
    else:
        c.connect(HOST, port, keepalive=keepalive)
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


def subscribe(c, topic, qos=1, options=None, properties=None):
    done = threading.Event()
    c.on_subscribe = lambda *args: done.set()
    if options is not None:
        c.subscribe(topic, options=options, properties=properties)
    else:
        c.subscribe(topic, qos=qos, properties=properties)
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
    props.UserProperty = ("colour", "blue")  # a key may repeat; order must be kept
    pub.publish("props/t", b'{"t": 21.5}', qos=1, properties=props).wait_for_publish(PATIENCE)
    message = wait_messages(sub, 1)[0]
    got = list(message.properties.UserProperty)
    expected = [("colour", "green"), ("unit", "°C"), ("colour", "blue")]
    if got != expected:
        # MQTT 5 §3.3.2.3.7: forwarded unaltered, in order.
        fail(f"user properties not forwarded unchanged and in order: {got}")
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
    time.sleep(1.0)  # let the broker take the disconnect before anything is published
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


def session_expiry(port):
    # MQTT 5 without a session expiry interval: the session ends at disconnect.
    c = client(port, "se-zero", clean=False)
    subscribe(c, "se/zero")
    stop(c)
    time.sleep(1.0)
    back = client(port, "se-zero", clean=False)
    if back._userdata["flags_session_present"]:
        fail("a session with expiry 0 survived the disconnect")
    stop(back)

    # Clean start with an expiry: the old session (and its subscription) is gone at connect.
    old = client(port, "se-reset", clean=False, session_expiry=300)
    subscribe(old, "se/old")
    stop(old)
    time.sleep(1.0)
    fresh = client(port, "se-reset", clean=True, session_expiry=300)
    if fresh._userdata["flags_session_present"]:
        fail("clean start resumed the old session")
    subscribe(fresh, "se/new")
    pub = client(port, "se-pub")
    pub.publish("se/old", b"old", qos=1).wait_for_publish(PATIENCE)
    pub.publish("se/new", b"new", qos=1).wait_for_publish(PATIENCE)
    got = wait_messages(fresh, 1)
    if got[0].payload != b"new":
        fail(f"the old session's subscription still delivers: {got[0].payload!r}")
    stop(pub)
    stop(fresh)


def subscription_options(port):
    from paho.mqtt.subscribeoptions import SubscribeOptions

    # No-local: a client does not get its own messages back; others still do.
    me = client(port, "nl-me")
    subscribe(me, "nl/t", options=SubscribeOptions(qos=1, noLocal=True))
    other = client(port, "nl-other")
    subscribe(other, "nl/t", qos=1)
    me.publish("nl/t", b"mine", qos=1).wait_for_publish(PATIENCE)
    other.publish("nl/t", b"theirs", qos=1).wait_for_publish(PATIENCE)
    got = [m.payload for m in wait_messages(me, 1)]
    if got[0] != b"theirs":
        fail(f"no-local subscriber got its own message: {got}")
    wait_messages(other, 2)
    stop(me)
    stop(other)

    # Retain handling 2: no retained messages at subscribe; 0: the retained message.
    pub = client(port, "rh-pub")
    pub.publish("rh/t", b"stored", qos=1, retain=True).wait_for_publish(PATIENCE)
    never = client(port, "rh-never")
    subscribe(never, "rh/t", options=SubscribeOptions(qos=1, retainHandling=2))
    always = client(port, "rh-always")
    subscribe(always, "rh/t", options=SubscribeOptions(qos=1, retainHandling=0))
    first = wait_messages(always, 1)[0]
    if first.payload != b"stored" or not first.retain:
        fail(f"retain handling 0 did not deliver the retained message: {first.payload!r}")
    pub.publish("rh/t", b"live", qos=1).wait_for_publish(PATIENCE)
    got = wait_messages(never, 1)[0]
    if got.payload != b"live":
        fail(f"retain handling 2 delivered the retained message: {got.payload!r}")

    # Retain as published: a live retained message keeps its flag only when asked.
    keep = client(port, "rap-keep")
    subscribe(keep, "rap/t", options=SubscribeOptions(qos=1, retainAsPublished=True, retainHandling=2))
    plain = client(port, "rap-plain")
    subscribe(plain, "rap/t", options=SubscribeOptions(qos=1, retainHandling=2))
    pub.publish("rap/t", b"flagged", qos=1, retain=True).wait_for_publish(PATIENCE)
    if not wait_messages(keep, 1)[0].retain:
        fail("retain-as-published cleared the retain flag")
    if wait_messages(plain, 1)[0].retain:
        fail("a live message kept its retain flag without retain-as-published")

    # Subscription identifiers come back on matching deliveries.
    ident = client(port, "sid")
    props = Properties(PacketTypes.SUBSCRIBE)
    props.SubscriptionIdentifier = 7
    subscribe(ident, "sid/#", qos=1, properties=props)
    pub.publish("sid/x", b"id", qos=1).wait_for_publish(PATIENCE)
    got = wait_messages(ident, 1)[0]
    ids = getattr(got.properties, "SubscriptionIdentifier", None)
    if ids != [7]:
        fail(f"subscription identifier not delivered: {ids}")
    for c in [pub, never, always, keep, plain, ident]:
        stop(c)


def max_packet_size(port):
    # A client that accepts at most 200 bytes never gets a larger packet; smaller ones arrive.
    c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                    client_id="small", protocol=mqtt.MQTTv5)
    got = []
    ready = threading.Event()
    c.on_connect = lambda *a: ready.set()
    c.on_message = lambda cl, u, m: got.append(m.payload)
    props = Properties(PacketTypes.CONNECT)
    props.MaximumPacketSize = 200
    c.connect(HOST, port, properties=props)
    c.loop_start()
    if not ready.wait(PATIENCE):
        fail("no CONNACK")
    subscribe(c, "size/t", qos=1)
    pub = client(port, "size-pub")
    pub.publish("size/t", b"x" * 1000, qos=1).wait_for_publish(PATIENCE)
    pub.publish("size/t", b"small", qos=1).wait_for_publish(PATIENCE)
    deadline = time.time() + PATIENCE
    while not got and time.time() < deadline:
        time.sleep(0.02)
    if got != [b"small"]:
        fail(f"expected only the small message, got {[len(p) for p in got]} bytes")
    stop(pub)
    stop(c)


def websocket(ws_port, tcp_port):
    # Over WebSocket, in both versions: publish to a TCP subscriber (started by the test), and
    # receive what a TCP client publishes.
    for protocol, name in [(mqtt.MQTTv311, "v311"), (mqtt.MQTTv5, "v5")]:
        ws = client(ws_port, f"ws-{name}", protocol=protocol, transport="websockets")
        subscribe(ws, "ws/from-tcp")
        tcp = client(tcp_port, f"tcp-{name}")
        tcp.publish("ws/from-tcp", f"to ws {name}".encode(), qos=1).wait_for_publish(PATIENCE)
        got = wait_messages(ws, 1)[0]
        if got.payload != f"to ws {name}".encode():
            fail(f"WebSocket client got {got.payload!r}")
        ws.publish("ws/from-ws", f"hello from ws {name}".encode(), qos=1).wait_for_publish(PATIENCE)
        stop(tcp)
        stop(ws)


PROBES = {
    "user-properties": user_properties,
    "message-expiry": message_expiry,
    "keepalive-zero": keepalive_zero,
    "assigned-id": assigned_id,
    "session-expiry": session_expiry,
    "subscription-options": subscription_options,
    "max-packet-size": max_packet_size,
}

if __name__ == "__main__":
    if sys.argv[1] == "websocket":
        websocket(int(sys.argv[2]), int(sys.argv[3]))
    else:
        PROBES[sys.argv[1]](int(sys.argv[2]))
    print("ok")
