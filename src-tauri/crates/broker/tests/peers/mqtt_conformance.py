#!/usr/bin/env python3
"""Independent MQTT conformance probes for a broker listening on 127.0.0.1.

Usage:
    python3 mqtt_conformance.py list              print the probe names, one a line
    python3 mqtt_conformance.py PROBE PORT [ARG]  run one probe

Exit status 0 when the broker behaved as the MQTT specification says (stdout:
"PASS: ..." or "SKIP: ..." when the probe cannot apply to this broker), 1 with
"FAIL: <reason>" on stdout when it did not, 2 for a usage error.

Every probe uses client ids and topics made of its own name and a random suffix,
cleans up its sessions and retained messages, and is bounded in time (a
watchdog ends the process after HARD_LIMIT seconds in any case).

Written from the OASIS MQTT Version 5.0 and 3.1.1 specifications. Section
numbers in the docstrings ("§") refer to MQTT 5.0 unless marked 3.1.1.
Eclipse Paho (paho-mqtt 2.x) is used where it can express the behaviour; a
small raw packet codec below is used where Paho cannot (it acknowledges on its
own, resolves nothing about topic aliases, and cannot send malformed or
protocol-violating packets).
"""

from __future__ import annotations

import collections
import os
import secrets
import socket
import struct
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

HOST = "127.0.0.1"
# Extra seconds granted to upper time bounds (a will due after 3 s may come at most so much
# later than the probe expects) when a test suite runs on a loaded machine: PROBE_SLACK=2.
SLACK = float(os.environ.get("PROBE_SLACK", "0"))
HARD_LIMIT = 15.0 + 2 * SLACK   # seconds; no probe may run longer than this
QUIET = 1.0         # seconds to wait to be sure that something does NOT arrive
WAIT = 5.0          # default deadline for something that must arrive


# ---------------------------------------------------------------------------
# Outcomes
# ---------------------------------------------------------------------------

class ProbeFailure(Exception):
    """The broker did not behave as the specification says."""


class ProbeSkip(Exception):
    """The probe does not apply to this broker (exit 0 with a note)."""


def fail(reason: str):
    raise ProbeFailure(reason)


def check(condition, reason: str):
    if not condition:
        raise ProbeFailure(reason)


def sleep_until(t: float):
    delay = t - time.monotonic()
    if delay > 0:
        time.sleep(delay)


# ---------------------------------------------------------------------------
# Raw MQTT codec (MQTT 5.0 §1.5 data representation, §2 packet format)
# ---------------------------------------------------------------------------

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP = 8, 9, 10, 11, 12, 13
DISCONNECT, AUTH = 14, 15

PACKET_NAMES = {
    1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC",
    6: "PUBREL", 7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE",
    11: "UNSUBACK", 12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT", 15: "AUTH",
}

# §2.4 reason codes (only those useful in messages)
REASON_NAMES = {
    0x00: "Success/Normal disconnection", 0x04: "Disconnect with Will Message",
    0x10: "No matching subscribers", 0x80: "Unspecified error",
    0x81: "Malformed Packet", 0x82: "Protocol Error",
    0x83: "Implementation specific error", 0x87: "Not authorized",
    0x89: "Server busy", 0x8B: "Server shutting down",
    0x8D: "Keep Alive timeout", 0x8E: "Session taken over",
    0x8F: "Topic Filter invalid", 0x90: "Topic Name invalid",
    0x93: "Receive Maximum exceeded", 0x94: "Topic Alias invalid",
    0x95: "Packet too large", 0x96: "Message rate too high",
    0x97: "Quota exceeded", 0x98: "Administrative action",
    0x99: "Payload format invalid", 0x9A: "Retain not supported",
    0x9B: "QoS not supported", 0x9E: "Shared Subscriptions not supported",
    0xA1: "Subscription Identifiers not supported",
    0xA2: "Wildcard Subscriptions not supported",
}

# §2.2.2.2 property identifiers: id -> (name, data type)
PROPERTY_TABLE = {
    0x01: ("payload_format_indicator", "byte"),
    0x02: ("message_expiry_interval", "u32"),
    0x03: ("content_type", "str"),
    0x08: ("response_topic", "str"),
    0x09: ("correlation_data", "bin"),
    0x0B: ("subscription_identifier", "varint"),
    0x11: ("session_expiry_interval", "u32"),
    0x12: ("assigned_client_identifier", "str"),
    0x13: ("server_keep_alive", "u16"),
    0x15: ("authentication_method", "str"),
    0x16: ("authentication_data", "bin"),
    0x17: ("request_problem_information", "byte"),
    0x18: ("will_delay_interval", "u32"),
    0x19: ("request_response_information", "byte"),
    0x1A: ("response_information", "str"),
    0x1C: ("server_reference", "str"),
    0x1F: ("reason_string", "str"),
    0x21: ("receive_maximum", "u16"),
    0x22: ("topic_alias_maximum", "u16"),
    0x23: ("topic_alias", "u16"),
    0x24: ("maximum_qos", "byte"),
    0x25: ("retain_available", "byte"),
    0x26: ("user_property", "pair"),
    0x27: ("maximum_packet_size", "u32"),
    0x28: ("wildcard_subscription_available", "byte"),
    0x29: ("subscription_identifier_available", "byte"),
    0x2A: ("shared_subscription_available", "byte"),
}
PROPERTY_IDS = {name: (pid, kind) for pid, (name, kind) in PROPERTY_TABLE.items()}
REPEATABLE = {"subscription_identifier", "user_property"}


def enc_varint(n: int) -> bytes:
    """§1.5.5 Variable Byte Integer."""
    out = bytearray()
    while True:
        digit = n % 128
        n //= 128
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def enc_str(s: str) -> bytes:
    """§1.5.4 UTF-8 Encoded String."""
    b = s.encode("utf-8")
    return struct.pack("!H", len(b)) + b


def enc_bin(b: bytes) -> bytes:
    """§1.5.6 Binary Data."""
    return struct.pack("!H", len(b)) + b


def enc_props(props: dict | None) -> bytes:
    """§2.2.2 Properties: property length followed by the properties."""
    body = bytearray()
    for name, value in (props or {}).items():
        pid, kind = PROPERTY_IDS[name]
        values = value if (name in REPEATABLE and isinstance(value, list)) else [value]
        for v in values:
            body += enc_varint(pid)
            if kind == "byte":
                body.append(v)
            elif kind == "u16":
                body += struct.pack("!H", v)
            elif kind == "u32":
                body += struct.pack("!I", v)
            elif kind == "varint":
                body += enc_varint(v)
            elif kind == "str":
                body += enc_str(v)
            elif kind == "bin":
                body += enc_bin(v)
            elif kind == "pair":
                body += enc_str(v[0]) + enc_str(v[1])
    return enc_varint(len(body)) + bytes(body)


def make_packet(ptype: int, flags: int, body: bytes) -> bytes:
    """§2.1 fixed header + remaining length."""
    return bytes([(ptype << 4) | flags]) + enc_varint(len(body)) + body


def build_publish(topic: str, payload: bytes = b"", qos: int = 0, retain: bool = False,
                  pid: int | None = None, props: dict | None = None, dup: bool = False,
                  version: int = 5) -> bytes:
    """§3.3 PUBLISH."""
    flags = (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    body = enc_str(topic)
    if qos:
        body += struct.pack("!H", pid)
    if version == 5:
        body += enc_props(props)
    return make_packet(PUBLISH, flags, body + payload)


class Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def u16(self) -> int:
        (v,) = struct.unpack_from("!H", self.data, self.pos)
        self.pos += 2
        return v

    def u32(self) -> int:
        (v,) = struct.unpack_from("!I", self.data, self.pos)
        self.pos += 4
        return v

    def varint(self) -> int:
        value, mult = 0, 1
        for _ in range(4):
            b = self.byte()
            value += (b & 0x7F) * mult
            if not b & 0x80:
                return value
            mult *= 128
        raise ValueError("malformed variable byte integer")

    def bin(self) -> bytes:
        n = self.u16()
        v = self.data[self.pos:self.pos + n]
        self.pos += n
        return bytes(v)

    def utf8(self) -> str:
        return self.bin().decode("utf-8", "replace")

    def rest(self) -> bytes:
        v = self.data[self.pos:]
        self.pos = len(self.data)
        return bytes(v)

    def props(self) -> dict:
        length = self.varint()
        end = self.pos + length
        out: dict = {}
        while self.pos < end:
            pid = self.varint()
            name, kind = PROPERTY_TABLE.get(pid, (f"unknown_0x{pid:02X}", None))
            if kind == "byte":
                v = self.byte()
            elif kind == "u16":
                v = self.u16()
            elif kind == "u32":
                v = self.u32()
            elif kind == "varint":
                v = self.varint()
            elif kind == "str":
                v = self.utf8()
            elif kind == "bin":
                v = self.bin()
            elif kind == "pair":
                v = (self.utf8(), self.utf8())
            else:
                raise ValueError(f"unknown property identifier 0x{pid:02X}")
            if name in REPEATABLE:
                out.setdefault(name, []).append(v)
            else:
                out[name] = v
        return out


class Packet:
    """A decoded control packet; only the fields of its type are meaningful."""

    def __init__(self, ptype: int, flags: int):
        self.type = ptype
        self.flags = flags
        self.props: dict = {}
        self.reason = 0
        self.reasons: list[int] = []
        self.pid = None
        self.topic = None
        self.payload = b""
        self.qos = 0
        self.retain = False
        self.dup = False
        self.session_present = False
        self.time = time.monotonic()

    def __repr__(self):
        return describe(self)


def describe(p: Packet) -> str:
    """Readable rendering of a packet for failure messages."""
    name = PACKET_NAMES.get(p.type, f"type {p.type}")
    parts = [name]
    if p.type == PUBLISH:
        parts.append(f"topic={p.topic!r} qos={p.qos} retain={int(p.retain)} dup={int(p.dup)}"
                     + (f" packet-id={p.pid}" if p.qos else "") + f" payload={p.payload[:60]!r}")
    elif p.type == CONNACK:
        parts.append(f"session-present={int(p.session_present)} reason=0x{p.reason:02X}"
                     f" ({REASON_NAMES.get(p.reason, '?')})")
    elif p.type in (PUBACK, PUBREC, PUBREL, PUBCOMP):
        parts.append(f"packet-id={p.pid} reason=0x{p.reason:02X} ({REASON_NAMES.get(p.reason, '?')})")
    elif p.type in (SUBACK, UNSUBACK):
        parts.append(f"packet-id={p.pid} reasons={[hex(r) for r in p.reasons]}")
    elif p.type in (DISCONNECT, AUTH):
        parts.append(f"reason=0x{p.reason:02X} ({REASON_NAMES.get(p.reason, '?')})")
    if p.props:
        parts.append(f"properties={p.props}")
    return " ".join(parts)


def decode_packet(first: int, body: bytes, version: int) -> Packet:
    p = Packet(first >> 4, first & 0x0F)
    r = Reader(body)
    v5 = version == 5
    if p.type == CONNACK:                       # §3.2
        p.session_present = bool(r.byte() & 0x01)
        p.reason = r.byte()
        if v5 and r.remaining():
            p.props = r.props()
    elif p.type == PUBLISH:                     # §3.3
        p.dup = bool(p.flags & 0x08)
        p.qos = (p.flags >> 1) & 0x03
        p.retain = bool(p.flags & 0x01)
        p.topic = r.utf8()
        if p.qos:
            p.pid = r.u16()
        if v5:
            p.props = r.props()
        p.payload = r.rest()
    elif p.type in (PUBACK, PUBREC, PUBREL, PUBCOMP):   # §3.4-§3.7
        p.pid = r.u16()
        if r.remaining():
            p.reason = r.byte()
        if v5 and r.remaining():
            p.props = r.props()
    elif p.type in (SUBACK, UNSUBACK):          # §3.9, §3.11
        p.pid = r.u16()
        if v5:
            p.props = r.props()
        p.reasons = list(r.rest())
    elif p.type in (DISCONNECT, AUTH):          # §3.14, §3.15
        if r.remaining():
            p.reason = r.byte()
        if r.remaining():
            p.props = r.props()
    return p


class Closed(Exception):
    """The server closed the network connection."""


class RawClient:
    """A minimal MQTT client on a plain socket that does exactly what it is told."""

    def __init__(self, port: int, label: str, version: int = 5):
        self.label = label
        self.version = version
        self.sock = socket.create_connection((HOST, port), timeout=WAIT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pending: collections.deque[Packet] = collections.deque()
        self.eof = False
        self.shut = False
        self._pid = 0

    # -- transport ---------------------------------------------------------
    def next_pid(self) -> int:
        self._pid = self._pid % 65535 + 1
        return self._pid

    def send(self, data: bytes):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise Closed(f"{self.label}: could not send ({e}); the server closed the connection")

    def _parse(self) -> Packet | None:
        buf = self.buf
        if len(buf) < 2:
            return None
        length, mult, i = 0, 1, 1
        while True:
            if i >= len(buf):
                return None
            b = buf[i]
            length += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
            if i > 4:
                fail(f"{self.label}: server sent a malformed remaining length")
        if len(buf) < i + length:
            return None
        first, body = buf[0], bytes(buf[i:i + length])
        del buf[:i + length]
        return decode_packet(first, body, self.version)

    def recv(self, timeout: float) -> Packet | None:
        """Next packet; None after `timeout` seconds; raises Closed at end of stream."""
        if self.pending:
            return self.pending.popleft()
        end = time.monotonic() + timeout
        while True:
            pkt = self._parse()
            if pkt is not None:
                return pkt
            if self.eof:
                raise Closed(f"{self.label}: the server closed the connection")
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None
            except OSError:
                data = b""
            if data:
                self.buf += data
            else:
                self.eof = True

    def expect(self, pred, timeout: float) -> Packet | None:
        """First packet satisfying pred within timeout; other packets stay queued."""
        end = time.monotonic() + timeout
        skipped = []
        try:
            while True:
                pkt = self.recv(max(0.0, end - time.monotonic()))
                if pkt is None:
                    return None
                if pred(pkt):
                    return pkt
                skipped.append(pkt)
                if time.monotonic() >= end and not self.pending:
                    return None
        finally:
            self.pending.extendleft(reversed(skipped))

    def outcome(self, timeout: float):
        """Next packet, or the string 'closed', or None on timeout."""
        try:
            return self.recv(timeout)
        except Closed:
            return "closed"

    # -- packets -------------------------------------------------------------
    def connect(self, client_id: str, clean_start: bool = True, keepalive: int = 60,
                props: dict | None = None, will: dict | None = None,
                timeout: float = WAIT, allow_refusal: bool = False) -> Packet:
        """§3.1 CONNECT; returns the CONNACK. will = {topic, payload, qos, retain, props}."""
        flags = 0x02 if clean_start else 0x00
        payload = enc_str(client_id)
        if will:
            flags |= 0x04 | (will.get("qos", 0) << 3) | (0x20 if will.get("retain") else 0)
            if self.version == 5:
                payload += enc_props(will.get("props"))
            payload += enc_str(will["topic"]) + enc_bin(will.get("payload", b""))
        var = enc_str("MQTT") + bytes([self.version, flags]) + struct.pack("!H", keepalive)
        if self.version == 5:
            var += enc_props(props)
        self.send(make_packet(CONNECT, 0, var + payload))
        try:
            ack = self.expect(lambda p: p.type == CONNACK, timeout)
        except Closed:
            fail(f"{self.label}: the server closed the connection instead of sending CONNACK")
        if ack is None:
            fail(f"{self.label}: no CONNACK within {timeout} s")
        if ack.reason >= 0x80 and not allow_refusal:
            fail(f"{self.label}: connection refused: {describe(ack)}")
        return ack

    def publish(self, topic: str, payload: bytes = b"", qos: int = 0, retain: bool = False,
                props: dict | None = None) -> int | None:
        pid = self.next_pid() if qos else None
        self.send(build_publish(topic, payload, qos, retain, pid, props, version=self.version))
        return pid

    def subscribe(self, filters: list[tuple[str, int]], props: dict | None = None,
                  timeout: float = WAIT) -> Packet:
        """§3.8 SUBSCRIBE; filters are (topic filter, subscription options byte)."""
        pid = self.next_pid()
        body = struct.pack("!H", pid)
        if self.version == 5:
            body += enc_props(props)
        for topic, options in filters:
            body += enc_str(topic) + bytes([options])
        self.send(make_packet(SUBSCRIBE, 0x02, body))
        ack = self.expect(lambda p: p.type == SUBACK and p.pid == pid, timeout)
        if ack is None:
            fail(f"{self.label}: no SUBACK within {timeout} s")
        bad = [r for r in ack.reasons if r >= 0x80]
        if bad:
            fail(f"{self.label}: subscription refused: {describe(ack)}")
        return ack

    def ack_packet(self, ptype: int, pid: int, reason: int = 0):
        body = struct.pack("!H", pid)
        if self.version == 5 and reason:
            body += bytes([reason])
        self.send(make_packet(ptype, 0x02 if ptype == PUBREL else 0x00, body))

    def puback(self, pid: int):
        self.ack_packet(PUBACK, pid)

    def wait_ack(self, ptype: int, pid: int, timeout: float = WAIT) -> Packet:
        try:
            pkt = self.expect(lambda p: (p.type == ptype and p.pid == pid) or p.type == DISCONNECT,
                              timeout)
        except Closed:
            fail(f"{self.label}: the server closed the connection instead of sending "
                 f"{PACKET_NAMES[ptype]} for packet id {pid}")
        if pkt is None:
            fail(f"{self.label}: no {PACKET_NAMES[ptype]} for packet id {pid} within {timeout} s")
        if pkt.type == DISCONNECT:
            fail(f"{self.label}: expected {PACKET_NAMES[ptype]}, the server sent {describe(pkt)}")
        return pkt

    def collect(self, count: int | None, timeout: float, ack: bool = True) -> list[Packet]:
        """PUBLISH packets received until `count` of them or `timeout`; other packets are
        ignored except DISCONNECT, which fails the probe. If `ack`, QoS 1 and QoS 2
        flows are completed (PUBACK; PUBREC, then PUBCOMP on PUBREL)."""
        end = time.monotonic() + timeout
        got = []
        while count is None or len(got) < count:
            left = end - time.monotonic()
            if left <= 0:
                break
            pkt = self.recv(left)
            if pkt is None:
                break
            if pkt.type == DISCONNECT:
                fail(f"{self.label}: unexpected {describe(pkt)}")
            if pkt.type == PUBREL and ack:
                self.ack_packet(PUBCOMP, pkt.pid)
            if pkt.type != PUBLISH:
                continue
            got.append(pkt)
            if ack and pkt.qos == 1:
                self.puback(pkt.pid)
            elif ack and pkt.qos == 2:
                self.ack_packet(PUBREC, pkt.pid)
        return got

    def disconnect(self, reason: int = 0, props: dict | None = None):
        """§3.14 DISCONNECT then close the socket."""
        body = b""
        if self.version == 5 and (reason or props):
            body = bytes([reason]) + enc_props(props)
        try:
            self.send(make_packet(DISCONNECT, 0, body))
        except Closed:
            pass
        self.close()

    def close(self):
        """Close the network connection (without DISCONNECT if none was sent)."""
        if self.shut:
            return
        self.shut = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


# ---------------------------------------------------------------------------
# Paho wrapper
# ---------------------------------------------------------------------------

class Msg:
    """An application message as Paho delivered it."""

    def __init__(self, m: mqtt.MQTTMessage):
        self.topic = m.topic
        self.payload = bytes(m.payload)
        self.qos = m.qos
        self.retain = bool(m.retain)
        self.dup = bool(m.dup)
        self.props = getattr(m, "properties", None)
        self.time = time.monotonic()

    def prop(self, name):
        return paho_prop(self.props, name)

    def __repr__(self):
        props = ""
        if self.props is not None and self.props.json():
            props = f" properties={self.props.json()}"
        return (f"PUBLISH topic={self.topic!r} qos={self.qos} retain={int(self.retain)} "
                f"payload={self.payload[:60]!r}{props}")


def paho_prop(props, name):
    """A property value from a Paho Properties object, or None; multi-valued ones as lists."""
    if props is None or not hasattr(props, name):
        return None
    return getattr(props, name)


class Connack:
    def __init__(self, session_present: bool, reason: int, props):
        self.session_present = session_present
        self.reason = reason
        self.props = props

    def prop(self, name):
        return paho_prop(self.props, name)


class PahoClient:
    """Eclipse Paho client with a background loop, recording what it receives."""

    def __init__(self, port: int, client_id: str, version: int = 5, clean_session: bool = True):
        self.port = port
        self.client_id = client_id
        self.version = version
        if version == 5:
            self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                 protocol=mqtt.MQTTv5, reconnect_on_failure=False)
        else:
            self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                 protocol=mqtt.MQTTv311, clean_session=clean_session,
                                 reconnect_on_failure=False)
        self.cond = threading.Condition()
        self.messages: list[Msg] = []
        self.connack: Connack | None = None
        self.subacks: dict[int, list[int]] = {}
        self.disconnected = False
        self.disconnect_reason = None
        self.running = False
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_subscribe
        self.c.on_disconnect = self._on_disconnect

    # callbacks run on Paho's network thread
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        with self.cond:
            self.connack = Connack(bool(flags.session_present), reason_code.value, properties)
            self.cond.notify_all()

    def _on_message(self, client, userdata, message):
        with self.cond:
            self.messages.append(Msg(message))
            self.cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        with self.cond:
            self.subacks[mid] = [rc.value for rc in reason_codes]
            self.cond.notify_all()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        with self.cond:
            self.disconnected = True
            self.disconnect_reason = reason_code
            self.cond.notify_all()

    def wait(self, pred, timeout: float) -> bool:
        """Wait until pred() holds (evaluated under the lock) or timeout."""
        end = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True

    def connect(self, clean_start: bool = True, session_expiry: int | None = None,
                keepalive: int = 60, timeout: float = WAIT) -> Connack:
        if self.version == 5:
            props = Properties(PacketTypes.CONNECT)
            if session_expiry is not None:
                props.SessionExpiryInterval = session_expiry
            self.c.connect(HOST, self.port, keepalive, clean_start=clean_start, properties=props)
        else:
            self.c.connect(HOST, self.port, keepalive)
        self.c.loop_start()
        self.running = True
        if not self.wait(lambda: self.connack is not None or self.disconnected, timeout):
            fail(f"{self.client_id}: no CONNACK within {timeout} s")
        if self.connack is None:
            fail(f"{self.client_id}: connection closed before CONNACK ({self.disconnect_reason})")
        if self.connack.reason >= 0x80 or (self.version != 5 and self.connack.reason):
            fail(f"{self.client_id}: connection refused, reason 0x{self.connack.reason:02X}")
        return self.connack

    def subscribe(self, topic: str, qos: int = 0, no_local: bool = False,
                  retain_handling: int = 0, sub_id: int | None = None,
                  timeout: float = WAIT) -> int:
        """Subscribe one filter; returns the granted QoS."""
        if self.version == 5:
            opts = SubscribeOptions(qos=qos, noLocal=no_local, retainAsPublished=False,
                                    retainHandling=retain_handling)
            props = None
            if sub_id is not None:
                props = Properties(PacketTypes.SUBSCRIBE)
                props.SubscriptionIdentifier = sub_id
            rc, mid = self.c.subscribe(topic, options=opts, properties=props)
        else:
            rc, mid = self.c.subscribe(topic, qos)
        if rc != mqtt.MQTT_ERR_SUCCESS:
            fail(f"{self.client_id}: could not send SUBSCRIBE ({mqtt.error_string(rc)})")
        if not self.wait(lambda: mid in self.subacks, timeout):
            fail(f"{self.client_id}: no SUBACK for {topic!r} within {timeout} s")
        granted = self.subacks[mid][0]
        if granted >= 0x80:
            fail(f"{self.client_id}: subscription to {topic!r} refused, reason 0x{granted:02X}")
        return granted

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
                message_expiry: int | None = None, timeout: float = WAIT):
        """Publish and wait until the flow completes (sent for QoS 0, PUBACK/PUBCOMP else)."""
        props = None
        if self.version == 5 and message_expiry is not None:
            props = Properties(PacketTypes.PUBLISH)
            props.MessageExpiryInterval = message_expiry
        info = self.c.publish(topic, payload, qos, retain, properties=props)
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError) as e:
            fail(f"{self.client_id}: publish to {topic!r} failed: {e}")
        if not info.is_published():
            fail(f"{self.client_id}: publish to {topic!r} (QoS {qos}) not completed within {timeout} s")

    def received(self, pred=lambda m: True) -> list[Msg]:
        with self.cond:
            return [m for m in self.messages if pred(m)]

    def wait_count(self, pred, count: int, timeout: float) -> list[Msg]:
        """Wait until at least `count` received messages satisfy pred; returns them."""
        self.wait(lambda: sum(1 for m in self.messages if pred(m)) >= count, timeout)
        return self.received(pred)

    def disconnect(self, session_expiry: int | None = None, timeout: float = WAIT):
        """Normal DISCONNECT (optionally with a Session Expiry Interval) and stop the loop."""
        if not self.running:
            return
        props = None
        if session_expiry is not None:
            props = Properties(PacketTypes.DISCONNECT)
            props.SessionExpiryInterval = session_expiry
        if not self.disconnected:
            self.c.disconnect(properties=props)
            self.wait(lambda: self.disconnected, timeout)
        self.c.loop_stop()
        self.running = False

    def close(self):
        try:
            self.disconnect(timeout=2)
        except Exception:
            pass


# ---------------------------------------------------------------------------
# Probe context: unique names and cleanup
# ---------------------------------------------------------------------------

class Ctx:
    def __init__(self, name: str, port: int, args: list[str]):
        self.name = name
        self.port = port
        self.args = args
        self.tag = f"{name}-{secrets.token_hex(4)}"
        self._closers = []
        self._retained: list[str] = []
        self._sessions: list[tuple[str, int]] = []
        self.notes: list[str] = []

    def note(self, text: str):
        """Something worth reporting on the PASS line (what the broker sent)."""
        self.notes.append(text)

    def cid(self, label: str) -> str:
        """A client id unique to this probe run."""
        return f"{self.tag}-{label}"

    def topic(self, *parts: str) -> str:
        """A topic (or filter) under a prefix unique to this probe run."""
        return "/".join((self.tag,) + parts)

    def paho(self, label: str, version: int = 5, clean_session: bool = True,
             client_id: str | None = None) -> PahoClient:
        c = PahoClient(self.port, client_id or self.cid(label), version, clean_session)
        self._closers.append(c.close)
        return c

    def raw(self, label: str, version: int = 5) -> RawClient:
        r = RawClient(self.port, label, version)
        self._closers.append(r.close)
        return r

    def retained(self, topic: str):
        """Remember a topic whose retained message must be deleted at the end."""
        self._retained.append(topic)

    def session(self, client_id: str, version: int = 5):
        """Remember a client id whose session must be ended at the end."""
        self._sessions.append((client_id, version))

    def cleanup(self):
        for close in reversed(self._closers):
            try:
                close()
            except Exception:
                pass
        if self._retained:
            try:
                r = RawClient(self.port, "cleanup")
                r.connect(self.cid("cleanup"))
                for topic in self._retained:
                    pid = r.publish(topic, b"", qos=1, retain=True)
                    r.wait_ack(PUBACK, pid, timeout=2)
                r.disconnect()
            except Exception as e:
                print(f"warning: could not delete retained messages: {e}", file=sys.stderr)
        for client_id, version in self._sessions:
            # Clean start with no Session Expiry Interval (or clean session in 3.1.1)
            # discards the old session and ends the new one at DISCONNECT.
            try:
                r = RawClient(self.port, "cleanup", version)
                r.connect(client_id, clean_start=True, timeout=2)
                r.disconnect()
            except Exception as e:
                print(f"warning: could not end session {client_id}: {e}", file=sys.stderr)


PROBES: dict = {}


def probe(name: str):
    def register(fn):
        PROBES[name] = fn
        return fn
    return register


# ---------------------------------------------------------------------------
# Shared sequences
# ---------------------------------------------------------------------------

def offline_queueing_sequence(ctx: Ctx, client_id: str, prefix: str, label: str) -> PahoClient:
    """Persistent session, messages published while offline, resumed with clean start 0.

    Returns the reconnected (still connected) client."""
    ctx.session(client_id)
    sub = ctx.paho(label, client_id=client_id)
    sub.connect(clean_start=True, session_expiry=99999)
    sub.subscribe(prefix + "/#", qos=2)
    sub.disconnect()

    pub = ctx.paho(f"{label}-pub")
    pub.connect()
    payloads = {q: f"{label} qos{q} {secrets.token_hex(3)}".encode() for q in (0, 1, 2)}
    for q in (0, 1, 2):
        pub.publish(f"{prefix}/m{q}", payloads[q], qos=q)
    pub.disconnect()

    again = ctx.paho(f"{label}-again", client_id=client_id)
    ack = again.connect(clean_start=False)   # no Session Expiry Interval property
    check(ack.session_present,
          f"{client_id}: CONNACK Session Present was 0 on reconnect with Clean Start 0 "
          f"to a session created with Session Expiry Interval 99999 (§3.2.2.1.1)")
    wanted = {payloads[1]: 1, payloads[2]: 2}
    again.wait(lambda: all(any(m.payload == p for m in again.messages) for p in wanted), WAIT)
    got = again.received()
    for payload, qos in wanted.items():
        hits = [m for m in got if m.payload == payload]
        check(hits, f"{client_id}: the QoS {qos} message published while it was offline was "
                    f"not delivered after the session resumed (§4.1); received: {got}")
        check(hits[0].qos == qos and hits[0].topic == f"{prefix}/m{qos}",
              f"{client_id}: queued QoS {qos} message delivered wrongly: {hits[0]}")
    return again


# ---------------------------------------------------------------------------
# Probes
# ---------------------------------------------------------------------------

@probe("offline-queueing")
def probe_offline_queueing(ctx: Ctx):
    """§3.1.2.4 Clean Start, §3.1.2.11.2 Session Expiry Interval, §3.2.2.1.1 Session
    Present, §4.1 Session State: QoS 1 and QoS 2 messages matching a subscription that
    arrive while the client is disconnected are part of the session state and are
    delivered when the session resumes (QoS 0 optionally)."""
    c = offline_queueing_sequence(ctx, ctx.cid("sub"), ctx.topic("q"), "sub")
    time.sleep(0.2)   # a QoS 0 copy may still come; it is optional
    c.disconnect()


@probe("session-expiry-at-disconnect")
def probe_session_expiry_at_disconnect(ctx: Ctx):
    """§3.14.2.2.2 Session Expiry Interval in DISCONNECT: it replaces the value from
    CONNECT; setting it non-zero when CONNECT had zero is a Protocol Error and the
    Server must not treat that as a valid DISCONNECT (§4.13). §3.1.2.5: the Will
    Message is published when the connection closes without a valid DISCONNECT."""
    cid = ctx.cid("c")
    ctx.session(cid)
    topic = ctx.topic("t")

    # 1. CONNECT expiry 1, DISCONNECT raises it to 5: the session survives 3 s.
    c = ctx.paho("c1", client_id=cid)
    c.connect(clean_start=True, session_expiry=1)
    c.subscribe(topic, qos=1)
    c.disconnect(session_expiry=5)
    sleep_until(time.monotonic() + 3.0)
    c = ctx.paho("c2", client_id=cid)
    ack = c.connect(clean_start=False, session_expiry=5)
    check(ack.session_present,
          "Session Present 0 three seconds after a DISCONNECT that set Session Expiry Interval "
          "5 (CONNECT had 1): the DISCONNECT value was not applied (§3.14.2.2.2)")

    # 2. DISCONNECT with expiry 0 ends the session at once.
    c.disconnect(session_expiry=0)
    c = ctx.paho("c3", client_id=cid)
    ack = c.connect(clean_start=False)
    check(not ack.session_present,
          "Session Present 1 right after a DISCONNECT with Session Expiry Interval 0: "
          "the session should have ended with the connection (§3.14.2.2.2, §3.1.2.11.2)")
    c.disconnect()

    # 3. CONNECT expiry 0, DISCONNECT expiry 10: Protocol Error.
    will_topic = ctx.topic("will")
    watcher = ctx.paho("watch")
    watcher.connect()
    watcher.subscribe(will_topic, qos=1)
    zid = ctx.cid("zero")
    ctx.session(zid)
    r = ctx.raw("zero-expiry client")
    r.connect(zid, clean_start=True,
              will={"topic": will_topic, "payload": b"will of zero-expiry client", "qos": 1})
    r.send(make_packet(DISCONNECT, 0, bytes([0x00]) + enc_props({"session_expiry_interval": 10})))
    t0 = time.monotonic()
    reply = r.outcome(3.0)
    if reply is None:
        fail("after CONNECT with Session Expiry 0 and DISCONNECT with Session Expiry 10 the "
             "server neither sent DISCONNECT 0x82 nor closed the connection within 3 s")
    if reply != "closed":
        check(reply.type == DISCONNECT and reply.reason == 0x82,
              f"after CONNECT with Session Expiry 0 and DISCONNECT with Session Expiry 10 "
              f"(a Protocol Error, §3.14.2.2.2) the server sent {describe(reply)}; expected "
              f"DISCONNECT 0x82 or a closed connection")
    ctx.note("invalid DISCONNECT answered with "
             + ("a closed connection" if reply == "closed" else describe(reply)))
    r.close()
    watcher.wait(lambda: watcher.messages, max(0.1, t0 + 2.0 - time.monotonic()))
    check(watcher.received(),
          "the server closed the connection after DISCONNECT with Session Expiry 10 (CONNECT "
          "had 0) but discarded the Will Message, i.e. it treated the DISCONNECT as a valid "
          "normal disconnection; §3.14.2.2.2 says it must not, so the will must be published "
          "(§3.1.2.5)")
    c = ctx.paho("zero2", client_id=zid)
    ack = c.connect(clean_start=False)
    check(not ack.session_present,
          "the session of a client whose CONNECT had Session Expiry 0 survived an invalid "
          "DISCONNECT that set Session Expiry 10 (§3.14.2.2.2)")
    c.disconnect()


@probe("queued-message-expiry")
def probe_queued_message_expiry(ctx: Ctx):
    """§3.3.2.3.3 Message Expiry Interval: a queued message whose interval passed must
    not be delivered [MQTT-3.3.2-5], and the interval forwarded must be the received
    value minus the time the message waited in the server [MQTT-3.3.2-6]."""
    cid = ctx.cid("sub")
    ctx.session(cid)
    prefix = ctx.topic("q")
    sub = ctx.paho("sub1", client_id=cid)
    sub.connect(clean_start=True, session_expiry=99999)
    sub.subscribe(prefix + "/#", qos=2)
    sub.disconnect(session_expiry=199999)

    pub = ctx.paho("pub")
    pub.connect()
    plan = [("short-q1", 1, 1), ("short-q2", 2, 1), ("long-q1", 1, 6), ("long-q2", 2, 6)]
    for name, qos, expiry in plan:
        pub.publish(f"{prefix}/{name}", name.encode(), qos=qos, message_expiry=expiry)
    t_pub = time.monotonic()
    pub.disconnect()

    sleep_until(t_pub + 3.0)
    sub = ctx.paho("sub2", client_id=cid)
    ack = sub.connect(clean_start=False)
    check(ack.session_present, "Session Present 0 on resuming a session with expiry 199999")
    sub.wait_count(lambda m: m.payload.startswith(b"long"), 2, WAIT)
    time.sleep(QUIET)
    got = sub.received()
    names = sorted(m.payload.decode() for m in got)
    check(names == ["long-q1", "long-q2"],
          f"after 3 s offline expected exactly the two messages with expiry 6 s, received "
          f"{names or 'nothing'} (§3.3.2.3.3 [MQTT-3.3.2-5]); packets: {got}")
    for m in got:
        exp = m.prop("MessageExpiryInterval")
        check(exp is not None,
              f"queued message {m.payload!r} arrived without Message Expiry Interval "
              f"(§3.3.2.3.3 [MQTT-3.3.2-6])")
        check(exp < 6,
              f"queued message {m.payload!r} arrived with Message Expiry Interval {exp} after "
              f"waiting 3 s; it must be reduced by the waiting time ([MQTT-3.3.2-6])")
        ctx.note(f"{m.payload.decode()} expiry {exp}")
    sub.disconnect()


@probe("no-local-after-ended-session")
def probe_no_local_after_ended_session(ctx: Ctx):
    """§3.8.3.1 No Local option [MQTT-3.8.3-3]: messages must not be forwarded to a
    connection with the publisher's client id; §3.1.2.4: Clean Start 1 discards the
    previous session, so no older subscription may deliver to the publisher."""
    a_id, b_id = ctx.cid("A"), ctx.cid("B")
    prefix = ctx.topic("nl")
    for label, cid in (("A", a_id), ("B", b_id)):
        c = offline_queueing_sequence(ctx, cid, prefix, label)
        c.disconnect()
    topic = prefix + "/t"
    a = ctx.paho("A-clean", client_id=a_id)
    b = ctx.paho("B-clean", client_id=b_id)
    check(not a.connect(clean_start=True).session_present, "A: Session Present 1 with Clean Start 1")
    check(not b.connect(clean_start=True).session_present, "B: Session Present 1 with Clean Start 1")
    a.subscribe(topic, qos=2, no_local=True)
    b.subscribe(topic, qos=2, no_local=True)
    payload = b"no-local " + secrets.token_hex(3).encode()
    a.publish(topic, payload, qos=1)
    got_b = b.wait_count(lambda m: m.payload == payload, 1, WAIT)
    check(got_b, "B (subscribed with No Local) did not receive A's publish")
    time.sleep(QUIET)
    got_a = a.received(lambda m: m.payload == payload)
    check(not got_a, f"A received its own publish although its subscription has No Local "
                     f"(§3.8.3.1 [MQTT-3.8.3-3]): {got_a}")
    check(len(b.received(lambda m: m.payload == payload)) == 1,
          f"B received the publish more than once: {b.received()}")
    a.disconnect()
    b.disconnect()


@probe("retain-handling")
def probe_retain_handling(ctx: Ctx):
    """§3.8.3.1 Retain Handling and §3.3.1.3 RETAIN: 0 sends retained messages on every
    subscribe, 1 only if the subscription did not exist, 2 never; retained messages sent
    because of a subscription carry RETAIN 1 [MQTT-3.3.1-9..11]."""
    prefix = ctx.topic("r")
    flt = prefix + "/+"
    pub = ctx.paho("pub")
    pub.connect()
    retained = {}
    for q in (0, 1, 2):
        t = f"{prefix}/q{q}"
        ctx.retained(t)
        retained[t] = (f"retained qos{q}".encode(), q)
        pub.publish(t, retained[t][0], qos=q, retain=True)
    pub.disconnect()

    def verify(msgs, when):
        topics = sorted(m.topic for m in msgs)
        check(topics == sorted(retained),
              f"{when}: expected the 3 retained messages once each, received {msgs or 'nothing'}")
        for m in msgs:
            payload, q = retained[m.topic]
            check(m.payload == payload and m.retain and m.qos == q,
                  f"{when}: wrong retained message {m} (expected payload {payload!r}, RETAIN 1, QoS {q})")

    c = ctx.paho("sub1")
    c.connect()
    c.subscribe(flt, qos=2, retain_handling=2)
    c.subscribe(flt, qos=2, retain_handling=2)
    time.sleep(QUIET)
    check(not c.received(), f"Retain Handling 2 still sent retained messages: {c.received()}")
    c.disconnect()

    c = ctx.paho("sub2")
    check(not c.connect(clean_start=True).session_present, "Session Present 1 with Clean Start 1")
    c.subscribe(flt, qos=2, retain_handling=1)
    c.wait_count(lambda m: True, 3, WAIT)
    time.sleep(0.2)
    verify(c.received(), "Retain Handling 1 on a new subscription")
    n = len(c.received())
    c.subscribe(flt, qos=2, retain_handling=1)
    time.sleep(QUIET)
    check(len(c.received()) == n,
          f"Retain Handling 1 on an existing subscription sent retained messages again: "
          f"{c.received()[n:]}")
    c.subscribe(flt, qos=2, retain_handling=0)
    c.wait_count(lambda m: True, n + 3, WAIT)
    time.sleep(0.2)
    verify(c.received()[n:], "Retain Handling 0 on an existing subscription")
    c.disconnect()


@probe("overlapping-subscriptions")
def probe_overlapping_subscriptions(ctx: Ctx):
    """§3.3.4 PUBLISH Actions: with overlapping subscriptions the message must be
    delivered respecting the maximum QoS of the matching subscriptions [MQTT-3.3.4-2];
    a single copy must carry the Subscription Identifiers of all matching subscriptions
    [MQTT-3.3.4-4] (§3.3.2.3.8). The spec also allows one copy per subscription
    (MAY); this probe expects the single-copy behaviour."""
    base = ctx.topic("ov")
    c = ctx.paho("sub")
    c.connect()
    c.subscribe(base + "/#", qos=1, sub_id=1)
    c.subscribe(base + "/+", qos=2, sub_id=2)
    payload = b"overlap " + secrets.token_hex(3).encode()
    c.publish(base + "/x", payload, qos=2)
    c.wait_count(lambda m: m.payload == payload, 1, WAIT)
    time.sleep(QUIET)
    got = c.received(lambda m: m.payload == payload)
    check(got, "the QoS 2 publish matching two subscriptions was not delivered")
    check(len(got) == 1, f"the message arrived {len(got)} times, expected exactly once (a single "
                         f"copy carrying both identifiers; §3.3.4 would also allow one copy per "
                         f"subscription, which this probe does not accept): {got}")
    m = got[0]
    check(m.qos == 2, f"delivered at QoS {m.qos}; the maximum QoS of the matching "
                      f"subscriptions is 2 [MQTT-3.3.4-2]: {m}")
    ids = m.prop("SubscriptionIdentifier")
    ids = sorted(ids if isinstance(ids, list) else ([] if ids is None else [ids]))
    check(ids == [1, 2], f"the single copy carried Subscription Identifiers {ids}, expected "
                         f"[1, 2] [MQTT-3.3.4-4]: {m}")
    c.disconnect()


@probe("receive-maximum")
def probe_receive_maximum(ctx: Ctx):
    """§3.1.2.11.3 Receive Maximum (CONNECT) and §4.9 Flow Control: the server must not
    send more unacknowledged QoS 1/2 PUBLISH packets than the client's Receive Maximum
    [MQTT-3.3.4-9]; each PUBACK frees one slot."""
    topic = ctx.topic("rm")
    r = ctx.raw("subscriber")
    r.connect(ctx.cid("sub"), props={"receive_maximum": 2})
    r.subscribe([(topic, 1)])
    pub = ctx.paho("pub")
    pub.connect()
    for i in range(5):
        pub.publish(topic, f"m{i}".encode(), qos=1)
    first = r.collect(2, WAIT, ack=False)
    check(len(first) == 2, f"expected 2 PUBLISH packets, got {first}")
    more = r.collect(None, QUIET, ack=False)
    got = first + more
    check(len(got) == 2,
          f"client's Receive Maximum is 2 but the server sent {len(got)} unacknowledged QoS 1 "
          f"PUBLISH packets [MQTT-3.3.4-9]: {got}")
    r.puback(got[0].pid)
    third = r.collect(1, WAIT, ack=False)
    check(third, "after PUBACK for the first message no further PUBLISH arrived")
    extra = r.collect(None, QUIET, ack=False)
    check(not extra, f"after one PUBACK the server sent {1 + len(extra)} more PUBLISH packets, "
                     f"expected exactly 1: {third + extra}")
    check(third[0].payload not in (got[0].payload, got[1].payload),
          f"the PUBLISH after the PUBACK was a repeat, not a new message: {third[0]}")
    for p in got[1:] + third:
        r.puback(p.pid)
    r.collect(2, 2.0)   # drain (and acknowledge) the rest before leaving
    r.disconnect()
    pub.disconnect()


@probe("server-receive-maximum")
def probe_server_receive_maximum(ctx: Ctx):
    """§3.2.2.3.3 Receive Maximum (CONNACK), §3.3.4 and §4.9: a client sending more
    unacknowledged QoS 2 PUBLISH packets than the server's Receive Maximum makes the
    server send DISCONNECT with Reason Code 0x93 (Receive Maximum exceeded)."""
    r = ctx.raw("publisher")
    ack = r.connect(ctx.cid("pub"))
    rm = ack.props.get("receive_maximum", 65535)
    if rm > 5000:
        raise ProbeSkip(f"server Receive Maximum is {rm} (> 5000), too many to test")
    topic = ctx.topic("flood")
    data = b"".join(build_publish(topic, b"x", qos=2, pid=i) for i in range(1, rm + 2))
    r.send(data)
    recs_ok, recs_err, outcome = 0, [], None
    end = time.monotonic() + 8.0
    while time.monotonic() < end:
        pkt = r.outcome(max(0.0, end - time.monotonic()))
        if pkt is None or pkt == "closed":
            outcome = pkt
            break
        if pkt.type == PUBREC:
            if pkt.reason < 0x80:
                recs_ok += 1
            else:
                recs_err.append(pkt)
        elif pkt.type == DISCONNECT:
            outcome = pkt
            break
        if recs_ok + len(recs_err) == rm + 1:
            outcome = r.outcome(QUIET) if not r.pending else r.recv(0)
            break
    summary = (f"server Receive Maximum {rm}, sent {rm + 1} QoS 2 PUBLISH without PUBREL; "
               f"got {recs_ok} successful PUBREC, error PUBRECs {recs_err}")
    if isinstance(outcome, Packet) and outcome.type == DISCONNECT:
        check(outcome.reason == 0x93, f"{summary}; then {describe(outcome)}, expected reason 0x93")
        check(recs_ok <= rm, f"{summary}: more than Receive Maximum were accepted")
        ctx.note(f"{summary}; then {describe(outcome)}")
        return
    if outcome == "closed":
        fail(f"{summary}; the server closed the connection without DISCONNECT 0x93")
    fail(f"{summary}; no DISCONNECT 0x93 (Receive Maximum exceeded) (§3.3.4, §4.9)")


@probe("shared-subscriptions")
def probe_shared_subscriptions(ctx: Ctx):
    """§4.8.2 Shared Subscriptions and §3.2.2.3.13 Shared Subscription Available: each
    message matching a shared subscription goes to exactly one session of the group;
    a non-shared subscription to the same filter is independent. (Spreading messages
    over more than one member is the broker's chosen policy, not a MUST.)"""
    filt = ctx.topic("jobs", "+")
    members = []
    for i in range(3):
        m = ctx.paho(f"member{i}")
        ack = m.connect()
        avail = ack.prop("SharedSubscriptionAvailable")
        check(avail != 0, "CONNACK says Shared Subscription Available = 0")
        m.subscribe(f"$share/grp/{filt}", qos=1)
        members.append(m)
    plain = ctx.paho("plain")
    plain.connect()
    plain.subscribe(filt, qos=1)
    pub = ctx.paho("pub")
    pub.connect()
    for i in range(30):
        pub.publish(ctx.topic("jobs", "1"), f"job-{i}".encode(), qos=1)
    end = time.monotonic() + 8.0
    while time.monotonic() < end:
        if sum(len(m.received()) for m in members) >= 30 and len(plain.received()) >= 30:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    want = sorted(f"job-{i}".encode() for i in range(30))
    shared = [msg for m in members for msg in m.received()]
    counts = [len(m.received()) for m in members]
    check(sorted(msg.payload for msg in shared) == want,
          f"shared group received {len(shared)} messages (per member {counts}); expected each of "
          f"the 30 payloads exactly once; missing "
          f"{sorted(set(want) - {m.payload for m in shared})}, duplicates "
          f"{sorted(p for p, n in collections.Counter(m.payload for m in shared).items() if n > 1)}")
    check(sum(1 for n in counts if n) >= 2,
          f"all 30 shared messages went to a single member (per member {counts})")
    check(sorted(m.payload for m in plain.received()) == want,
          f"the plain subscriber received {len(plain.received())} messages, expected the 30")
    for c in members + [plain, pub]:
        c.disconnect()


@probe("server-topic-alias")
def probe_server_topic_alias(ctx: Ctx):
    """§3.3.2.3.4 Topic Alias and §3.1.2.11.5 Topic Alias Maximum: the server must not
    send an alias above the client's maximum [MQTT-3.3.2-11, MQTT-3.1.2-26] and none
    when the maximum is 0 or absent [MQTT-3.1.2-27]. Using aliases at all is optional
    for a server; this probe also checks that the broker does use them (alias + full
    name first, then the alias with an empty topic name)."""
    topic = ctx.topic("alias", "some-long-topic-name")
    with_alias = ctx.raw("subscriber with Topic Alias Maximum 3")
    with_alias.connect(ctx.cid("sub3"), props={"topic_alias_maximum": 3})
    with_alias.subscribe([(topic, 1)])
    without = ctx.raw("subscriber without Topic Alias Maximum")
    without.connect(ctx.cid("sub0"))
    without.subscribe([(topic, 1)])
    pub = ctx.paho("pub")
    pub.connect()
    for i in range(3):
        pub.publish(topic, f"alias-{i}".encode(), qos=1)
    got = with_alias.collect(3, WAIT)
    plain = without.collect(3, WAIT)
    check(len(got) == 3, f"subscriber with Topic Alias Maximum 3 got {len(got)} of 3: {got}")
    check(len(plain) == 3, f"subscriber without Topic Alias Maximum got {len(plain)} of 3: {plain}")
    for p in got:
        alias = p.props.get("topic_alias")
        check(alias is None or 1 <= alias <= 3,
              f"server used Topic Alias {alias} but the client's maximum is 3 "
              f"[MQTT-3.3.2-11]: {describe(p)}")
    for p in plain:
        check("topic_alias" not in p.props and p.topic == topic,
              f"server sent a Topic Alias to a client whose Topic Alias Maximum is absent "
              f"[MQTT-3.1.2-27]: {describe(p)}")
    alias = got[0].props.get("topic_alias")
    check(alias is not None,
          f"first PUBLISH to the client with Topic Alias Maximum 3 carried no Topic Alias "
          f"property (the server does not use topic aliases): {describe(got[0])}")
    check(got[0].topic == topic,
          f"first PUBLISH that sets alias {alias} must carry the full topic name: {describe(got[0])}")
    for p in got[1:]:
        check(p.props.get("topic_alias") == alias and p.topic == "",
              f"later PUBLISH should reuse alias {alias} with an empty topic name: {describe(p)}")
    with_alias.disconnect()
    without.disconnect()
    pub.disconnect()


@probe("server-keep-alive")
def probe_server_keep_alive(ctx: Ctx):
    """§3.2.2.3.14 Server Keep Alive and §3.1.2.10 Keep Alive: a server that wants a
    different keep alive than the client asked for sends Server Keep Alive and the
    client must use it. Optional third argument: the exact value expected."""
    expected = int(ctx.args[0]) if ctx.args else None
    r = ctx.raw("client")
    ack = r.connect(ctx.cid("c"), keepalive=120)
    ska = ack.props.get("server_keep_alive")
    check(ska is not None,
          f"CONNACK for keep alive 120 has no Server Keep Alive property: {describe(ack)}")
    check(ska <= 120, f"Server Keep Alive {ska} is larger than the 120 the client asked for")
    ctx.note(f"Server Keep Alive {ska}")
    if expected is not None:
        check(ska == expected, f"Server Keep Alive is {ska}, expected {expected}")
    r.disconnect()


def expect_rejection(r: RawClient, what: str, reasons: set[int]) -> str:
    """After a protocol violation: a DISCONNECT with one of `reasons` or a closed
    connection is a rejection; anything that acknowledges the packet is not.
    Returns what the server did, for the report."""
    try:
        pkt = r.expect(lambda p: p.type in (DISCONNECT, PUBACK, PUBREC), 3.0)
    except Closed:
        return "closed"
    if pkt is None:
        fail(f"after {what} the server neither sent DISCONNECT nor closed the connection within 3 s")
    if pkt.type == DISCONNECT:
        check(pkt.reason in reasons,
              f"after {what} the server sent {describe(pkt)}; expected reason "
              f"{' or '.join(f'0x{x:02X}' for x in sorted(reasons))}")
        return describe(pkt)
    fail(f"the server accepted {what}: it answered {describe(pkt)}")


@probe("client-topic-alias")
def probe_client_topic_alias(ctx: Ctx):
    """§3.3.2.3.4 Topic Alias and §3.2.2.3.8 Topic Alias Maximum (CONNACK): alias 0 is
    not permitted [MQTT-3.3.2-8]; an alias above the server's maximum is invalid (reason
    0x94 Topic Alias invalid); aliases in range must be accepted [MQTT-3.3.2-12]; alias
    mappings do not carry over to another connection [MQTT-3.3.2-7]."""
    sub = ctx.paho("sub")
    sub.connect()
    sub.subscribe(ctx.topic("#"), qos=1)

    r = ctx.raw("publisher (alias 0)")
    ack = r.connect(ctx.cid("pub0"))
    n = ack.props.get("topic_alias_maximum", 0)
    if n == 0:
        raise ProbeSkip("server Topic Alias Maximum is 0: it accepts no topic aliases")
    ctx.note(f"server Topic Alias Maximum {n}")
    r.publish(ctx.topic("zero"), b"with alias 0", qos=1, props={"topic_alias": 0})
    # 0x94 is defined for an alias above the maximum; for alias 0 §4.13.1 also allows the
    # generic 0x81 Malformed Packet / 0x82 Protocol Error.
    ctx.note("alias 0: " + expect_rejection(r, "a PUBLISH with Topic Alias 0", {0x81, 0x82, 0x94}))
    r.close()

    r = ctx.raw(f"publisher (alias {n + 1})")
    r.connect(ctx.cid("pubN"))
    r.publish(ctx.topic("over"), b"with alias N+1", qos=1, props={"topic_alias": n + 1})
    ctx.note(f"alias {n + 1}: " + expect_rejection(
        r, f"a PUBLISH with Topic Alias {n + 1} (server maximum {n})", {0x94}))
    r.close()

    cid = ctx.cid("pub")
    ctx.session(cid)
    topic = ctx.topic("aliased")
    r = ctx.raw("publisher (alias 1)")
    r.connect(cid, clean_start=True, props={"session_expiry_interval": 60})
    pid = r.publish(topic, b"sets alias", qos=1, props={"topic_alias": 1})
    check(r.wait_ack(PUBACK, pid).reason < 0x80, "PUBLISH setting alias 1 was refused")
    pid = r.publish("", b"uses alias", qos=1, props={"topic_alias": 1})
    check(r.wait_ack(PUBACK, pid).reason < 0x80, "PUBLISH using alias 1 was refused")
    sub.wait_count(lambda m: m.payload in (b"sets alias", b"uses alias"), 2, WAIT)
    got = sub.received(lambda m: m.payload in (b"sets alias", b"uses alias"))
    check(len(got) == 2 and all(m.topic == topic for m in got),
          f"expected 'sets alias' and 'uses alias' on {topic!r}, subscriber received {got}")
    r.disconnect()

    r = ctx.raw("publisher (reconnected)")
    ack = r.connect(cid, clean_start=False)
    check(ack.session_present, "Session Present 0 when resuming a session with expiry 60")
    r.publish("", b"stale alias", qos=1, props={"topic_alias": 1})
    ctx.note("stale alias: " + expect_rejection(
        r, "a PUBLISH using alias 1 (set on the previous connection) with an empty topic name",
        set(range(0x80, 0x100))))
    r.close()
    time.sleep(0.5)
    wrong = sub.received(lambda m: m.payload in (b"with alias 0", b"with alias N+1", b"stale alias"))
    check(not wrong, f"a rejected PUBLISH was delivered anyway: {wrong}")
    sub.disconnect()


@probe("will-delay")
def probe_will_delay(ctx: Ctx):
    """§3.1.3.2.2 Will Delay Interval: the will is published when the delay passes or the
    session ends, whichever is first; a new connection to the session before the delay
    passes cancels it [MQTT-3.1.3-9]. §3.1.2.5: closing the socket without DISCONNECT
    triggers the will."""
    watcher = ctx.paho("watch")
    watcher.connect()
    watcher.subscribe(ctx.topic("will", "+"), qos=1)
    cases = {   # name: (will delay, session expiry, earliest, latest)
        "a": (3, 5, 2.0, 5.0 + SLACK),
        "b": (5, 0, 0.0, 1.5 + SLACK),
        "c": (5, 2, 1.0, 4.0 + SLACK),
        "d": (3, 10, None, None),   # reconnects after 1 s: the will must never come
    }
    conns = {}
    for name, (delay, expiry, _, _) in cases.items():
        cid = ctx.cid(name)
        ctx.session(cid)
        r = ctx.raw(f"client {name}")
        r.connect(cid, props={"session_expiry_interval": expiry} if expiry else None,
                  will={"topic": ctx.topic("will", name), "payload": f"will {name}".encode(),
                        "qos": 1, "props": {"will_delay_interval": delay}})
        conns[name] = r
    t0 = time.monotonic()
    for r in conns.values():
        r.close()
    sleep_until(t0 + 1.0)
    d = ctx.raw("client d (reconnect)")
    ack = d.connect(ctx.cid("d"), clean_start=False)
    check(ack.session_present,
          "client d reconnected 1 s after losing its connection (session expiry 10) but "
          "Session Present was 0")
    end = t0 + 3 + 2.0 + SLACK
    watcher.wait(lambda: False, max(0.0, end - time.monotonic()))
    d.disconnect()

    arrivals = {}
    for m in watcher.received():
        arrivals.setdefault(m.topic.rsplit("/", 1)[1], m.time - t0)
    problems = []
    for name, (delay, expiry, lo, hi) in cases.items():
        at = arrivals.get(name)
        what = f"will with delay {delay} and session expiry {expiry}"
        if lo is None:
            what += " whose client reconnected after 1 s"
            if at is not None:
                problems.append(f"{what} was published after {at:.1f} s [MQTT-3.1.3-9]")
            else:
                ctx.note(f"will {name} (reconnected) never came")
        elif at is None:
            problems.append(f"{what} was not published within {end - t0:.0f} s (expected "
                            f"between {lo} and {hi} s)")
        elif not lo <= at <= hi:
            problems.append(f"{what} was published after {at:.1f} s, expected between "
                            f"{lo} and {hi} s")
        else:
            ctx.note(f"will {name} after {at:.1f} s")
    check(not problems, "; ".join(problems))
    watcher.disconnect()


@probe("v311-persistent-session")
def probe_v311_persistent_session(ctx: Ctx):
    """MQTT 3.1.1 §3.1.2.4 Clean Session, §3.2.2.2 Session Present, §4.1 Storing state:
    with Clean Session 0 subscriptions and QoS 1/2 messages are kept while the client
    is offline; Clean Session 1 discards the session."""
    cid = ctx.cid("c")
    ctx.session(cid, version=4)
    q1, q2 = ctx.topic("q1"), ctx.topic("q2")
    c = ctx.paho("c1", version=4, clean_session=False, client_id=cid)
    c.connect()
    c.subscribe(q1, qos=1)
    c.subscribe(q2, qos=2)
    c.disconnect()

    pub = ctx.paho("pub", version=4)
    pub.connect()
    pub.publish(q1, b"first qos1", qos=1)
    pub.publish(q2, b"first qos2", qos=2)

    c = ctx.paho("c2", version=4, clean_session=False, client_id=cid)
    ack = c.connect()
    check(ack.session_present, "3.1.1: Session Present 0 on reconnect with Clean Session 0")
    c.wait_count(lambda m: m.payload.startswith(b"first"), 2, WAIT)
    got = sorted((m.topic, m.payload, m.qos) for m in c.received())
    check(got == [(q1, b"first qos1", 1), (q2, b"first qos2", 2)],
          f"3.1.1: expected the QoS 1 and QoS 2 messages queued while offline, received "
          f"{c.received() or 'nothing'}")
    c.disconnect()

    pub.publish(q1, b"second qos1", qos=1)
    pub.publish(q2, b"second qos2", qos=2)
    pub.disconnect()

    c = ctx.paho("c3", version=4, clean_session=True, client_id=cid)
    ack = c.connect()
    check(not ack.session_present, "3.1.1: Session Present 1 with Clean Session 1 [MQTT-3.2.2-1]")
    time.sleep(QUIET)
    check(not c.received(), f"3.1.1: a Clean Session 1 connection received messages queued "
                            f"for the discarded session: {c.received()}")
    c.disconnect()


@probe("message-expiry-live")
def probe_message_expiry_live(ctx: Ctx):
    """§3.3.2.3.3 Message Expiry Interval and §3.3.1.3: an expired retained message is
    discarded; one sent before expiry carries the remaining interval [MQTT-3.3.2-6]."""
    topic = ctx.topic("expiring")
    ctx.retained(topic)
    pub = ctx.paho("pub")
    pub.connect()
    pub.publish(topic, b"expires in 2 s", qos=1, retain=True, message_expiry=2)
    t_pub = time.monotonic()
    pub.disconnect()

    early = ctx.paho("early")
    early.connect()
    early.subscribe(topic, qos=1)
    got = early.wait_count(lambda m: True, 1, 1.5)
    check(got, "a subscriber joining at once did not get the retained message with expiry 2 s")
    exp = got[0].prop("MessageExpiryInterval")
    check(exp is not None and exp <= 2,
          f"retained message delivered with Message Expiry Interval {exp}, expected at most 2: {got[0]}")
    ctx.note(f"early subscriber saw expiry {exp}")
    early.disconnect()

    sleep_until(t_pub + 3.0)
    late = ctx.paho("late")
    late.connect()
    late.subscribe(topic, qos=1)
    time.sleep(QUIET)
    check(not late.received(),
          f"a subscriber joining 3 s after publication got the retained message whose expiry "
          f"was 2 s: {late.received()}")
    late.disconnect()


@probe("takeover")
def probe_takeover(ctx: Ctx):
    """§3.1.4 CONNECT Actions [MQTT-3.1.4-3]: a second connection with the same client id
    makes the server send DISCONNECT 0x8E (Session taken over) to the first and close it;
    §3.2.2.1.1 Session Present follows the new Clean Start; §3.1.2.5: the first client's
    will (delay 0) is published because its connection closed without DISCONNECT."""
    will_topic = ctx.topic("will")
    watcher = ctx.paho("watch")
    watcher.connect()
    watcher.subscribe(will_topic, qos=1)
    cid = ctx.cid("same")
    ctx.session(cid)

    def taken_over(r: RawClient, who: str):
        reply = r.outcome(3.0)
        ctx.note(f"{who}: " + ("closed" if reply == "closed" else
                               describe(reply) if reply is not None else "nothing"))
        if reply == "closed":
            return
        check(reply is not None, f"{who} got neither DISCONNECT 0x8E nor a closed connection within 3 s")
        check(reply.type == DISCONNECT and reply.reason == 0x8E,
              f"{who}: expected DISCONNECT 0x8E (Session taken over), got {describe(reply)}")
        after = r.outcome(2.0)
        check(after == "closed", f"{who}: the server sent DISCONNECT 0x8E but did not close the "
                                 f"connection (next: {after})")

    first = ctx.raw("first connection")
    first.connect(cid, props={"session_expiry_interval": 30},
                  will={"topic": will_topic, "payload": b"first's will", "qos": 1})
    first.subscribe([(ctx.topic("s"), 1)])
    second = ctx.raw("second connection")
    ack = second.connect(cid, clean_start=False, props={"session_expiry_interval": 30})
    check(ack.session_present,
          f"second connection with Clean Start 0 got Session Present 0 although the session "
          f"(expiry 30) existed: {describe(ack)}")
    taken_over(first, "first connection")
    wills = watcher.wait_count(lambda m: True, 1, 2.0)
    check(wills and wills[0].payload == b"first's will",
          "the first connection's will (Will Delay 0) was not published on takeover by a "
          "connection with Clean Start 0; §3.1.4 point 3: 'If the existing Client has a Will "
          "Message, that Will Message is published as described in section 3.1.2.5' (with delay 0 "
          "it is sent because the connection closed)")

    third = ctx.raw("third connection")
    ack = third.connect(cid, clean_start=True)
    check(not ack.session_present,
          f"third connection with Clean Start 1 got Session Present 1: {describe(ack)}")
    taken_over(second, "second connection")
    time.sleep(0.3)
    check(len(watcher.received()) == 1, f"unexpected extra will: {watcher.received()}")
    third.disconnect()
    watcher.disconnect()


@probe("qos-downgrade")
def probe_qos_downgrade(ctx: Ctx):
    """§3.8.4 SUBSCRIBE Actions [MQTT-3.8.4-8] and §4.3: the QoS of a forwarded message is
    the minimum of the published QoS and the QoS granted to the subscription."""
    cases = [("a", 1, 2), ("b", 0, 1), ("c", 2, 0)]    # topic, subscription QoS, publish QoS
    c = ctx.paho("sub")
    c.connect()
    granted = {t: c.subscribe(ctx.topic(t), qos=sq) for t, sq, _ in cases}
    for t, _, pq in cases:
        c.publish(ctx.topic(t), f"published qos{pq}".encode(), qos=pq)
    c.wait_count(lambda m: True, 3, WAIT)
    time.sleep(0.3)
    for t, sq, pq in cases:
        got = c.received(lambda m, t=t: m.topic == ctx.topic(t))
        want = min(pq, granted[t])
        check(len(got) == 1, f"QoS {pq} publish to a QoS {sq} subscription arrived {len(got)} times")
        check(got[0].qos == want,
              f"QoS {pq} publish to a subscription granted QoS {granted[t]} arrived at QoS "
              f"{got[0].qos}, expected {want} [MQTT-3.8.4-8]")
    c.disconnect()


@probe("retained-empty-nonretained")
def probe_retained_empty_nonretained(ctx: Ctx):
    """§3.3.1.3 RETAIN: a PUBLISH with RETAIN 0 must not remove or replace a retained
    message [MQTT-3.3.1-8]; a retained PUBLISH with an empty payload removes it
    [MQTT-3.3.1-6]."""
    topic = ctx.topic("keep")
    ctx.retained(topic)
    pub = ctx.paho("pub")
    pub.connect()
    pub.publish(topic, b"kept", qos=1, retain=True)
    pub.publish(topic, b"", qos=1, retain=False)

    s1 = ctx.paho("s1")
    s1.connect()
    s1.subscribe(topic, qos=1)
    got = s1.wait_count(lambda m: True, 1, WAIT)
    check(got and got[0].payload == b"kept" and got[0].retain,
          f"after an empty non-retained PUBLISH the retained message was gone or changed; a new "
          f"subscriber received {got or 'nothing'} [MQTT-3.3.1-8]")
    s1.disconnect()

    pub.publish(topic, b"", qos=1, retain=True)
    pub.disconnect()
    s2 = ctx.paho("s2")
    s2.connect()
    s2.subscribe(topic, qos=1)
    time.sleep(QUIET)
    check(not s2.received(), f"an empty retained PUBLISH did not delete the retained message; a "
                             f"new subscriber received {s2.received()} [MQTT-3.3.1-6]")
    s2.disconnect()


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def _watchdog(name: str):
    print(f"FAIL: probe {name} did not finish within {HARD_LIMIT:.0f} s", flush=True)
    os._exit(1)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[1] == "list":
        print("\n".join(PROBES))
        return 0
    if len(argv) < 3 or argv[1] not in PROBES:
        print(f"usage: {argv[0]} list | {argv[0]} PROBE PORT [ARG]\nprobes: {', '.join(PROBES)}",
              file=sys.stderr)
        return 2
    name, port = argv[1], int(argv[2])
    timer = threading.Timer(HARD_LIMIT, _watchdog, args=(name,))
    timer.daemon = True
    timer.start()
    ctx = Ctx(name, port, argv[3:])
    start = time.monotonic()
    try:
        PROBES[name](ctx)
        result, code = f"PASS: {name}", 0
    except ProbeSkip as e:
        result, code = f"SKIP: {name}: {e}", 0
    except ProbeFailure as e:
        result, code = f"FAIL: {e}", 1
    except Closed as e:
        result, code = f"FAIL: {e} (unexpectedly)", 1
    except ConnectionRefusedError as e:
        result, code = f"FAIL: cannot connect to {HOST}:{port}: {e}", 1
    except Exception as e:  # a probe bug or an unexpected broker reaction
        result, code = f"FAIL: probe error {type(e).__name__}: {e}", 1
    finally:
        ctx.cleanup()
    notes = f" [{'; '.join(ctx.notes)}]" if ctx.notes else ""
    print(f"{result} ({time.monotonic() - start:.1f} s){notes}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
