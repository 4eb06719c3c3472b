"""Eclipse Paho 2 as the device under test while the embedded broker injects faults.

Usage: python3 paho_faults.py PROBE PORT [ARG]. Exits 0 when the device saw what the fault
should make it see, 1 (with a reason on stdout) when it did not. The Rust test arms the rules
and watches the broker's packet log; these probes only play the device.

- puback PORT: a QoS 1 publisher (clean session off) whose PUBACK is lost; it must get its
  acknowledgement only after it connected again (the test cuts it when the drop shows).
- refuse PORT CODE VERSION: the first CONNECT is refused with CODE (VERSION 5 or 4; paho
  reports 3.1.1 return codes as the matching reason code), the next one is accepted.
- duplicate PORT: a QoS 1 subscriber receives its one message twice, the copy with DUP set.
"""

import sys
import threading
import time

import paho.mqtt.client as mqtt

HOST = "127.0.0.1"
PATIENCE = 30.0


def fail(reason):
    print(f"FAIL: {reason}", flush=True)
    sys.exit(1)


def new_client(client_id, protocol=mqtt.MQTTv311, clean=True):
    kwargs = {}
    if protocol != mqtt.MQTTv5:
        kwargs["clean_session"] = clean
    return mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
        **kwargs,
    )


def wait(what, condition):
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def puback(port):
    c = new_client("faulty-pub", clean=False)
    connects = []
    c.on_connect = lambda cl, ud, flags, rc, props: connects.append(rc.value)
    c.reconnect_delay_set(min_delay=1, max_delay=2)
    c.connect(HOST, port, keepalive=60)
    c.loop_start()
    wait("the first CONNACK", lambda: connects)
    info = c.publish("faults/puback", b"once", qos=1)
    wait("the PUBACK after a reconnection", info.is_published)
    c.loop_stop()
    if len(connects) < 2:
        fail(f"acknowledged without a reconnection (CONNACKs: {connects})")
    c.disconnect()
    print(f"acknowledged after {len(connects)} connections", flush=True)


def refuse(port, code, version):
    protocol = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
    codes = []
    for attempt in range(2):
        c = new_client("faulty-connect", protocol=protocol)
        c.on_connect = lambda cl, ud, flags, rc, props: codes.append(rc.value)
        c.connect(HOST, port, keepalive=60)
        deadline = time.monotonic() + PATIENCE
        while len(codes) <= attempt:
            c.loop(0.1)
            if time.monotonic() > deadline:
                fail(f"no CONNACK on attempt {attempt + 1}")
        c.disconnect()
    if codes != [code, 0]:
        fail(f"CONNACK codes {codes}, expected [{code}, 0]")
    print(f"refused with {code:#04x}, then accepted", flush=True)


def duplicate(port):
    c = new_client("faulty-sub")
    got = []
    subscribed = threading.Event()
    c.on_message = lambda cl, ud, m: got.append((m.payload, m.dup, m.mid, m.qos))
    c.on_subscribe = lambda cl, ud, mid, codes, props: subscribed.set()
    c.on_connect = lambda cl, ud, flags, rc, props: cl.subscribe("faults/dup", qos=1)
    c.connect(HOST, port, keepalive=60)
    c.loop_start()
    if not subscribed.wait(PATIENCE):
        fail("no SUBACK")
    print("subscribed", flush=True)
    wait("two copies of the message", lambda: len(got) >= 2)
    c.loop_stop()
    first, second = got[0], got[1]
    if first[0] != b"twice" or second[0] != b"twice":
        fail(f"payloads {first[0]!r} and {second[0]!r}")
    if first[1] or not second[1]:
        fail(f"DUP flags {first[1]} then {second[1]}, expected False then True")
    if first[2] != second[2] or second[3] != 1:
        fail(f"the copy is not the same QoS 1 message: {got}")
    print("received twice, the copy with DUP", flush=True)


def main():
    probe, port = sys.argv[1], int(sys.argv[2])
    if probe == "puback":
        puback(port)
    elif probe == "refuse":
        refuse(port, int(sys.argv[3], 0), int(sys.argv[4]))
    elif probe == "duplicate":
        duplicate(port)
    else:
        fail(f"unknown probe {probe}")


main()
