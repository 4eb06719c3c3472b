"""MQTT 5 request/response with Eclipse Paho, as a backend would ask a device: publish a request
carrying a response topic and correlation data, and print the reply that arrives there as
`topic<TAB>correlation-hex<TAB>payload`.

Usage: request_response.py PORT REQUEST_TOPIC PAYLOAD
"""
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

port, request_topic, payload = int(sys.argv[1]), sys.argv[2], sys.argv[3]
response_topic = "replies/paho-requester"
done = threading.Event()
subscribed = threading.Event()
answer = {}

kwargs = {"client_id": "paho-requester", "protocol": mqtt.MQTTv5}
if hasattr(mqtt, "CallbackAPIVersion"):
    kwargs["callback_api_version"] = mqtt.CallbackAPIVersion.VERSION2
client = mqtt.Client(**kwargs)


def on_subscribe(client, userdata, mid, *rest):
    subscribed.set()


def on_message(client, userdata, message):
    props = message.properties
    answer["topic"] = message.topic
    answer["correlation"] = getattr(props, "CorrelationData", b"") or b""
    answer["payload"] = message.payload.decode("utf-8", "replace")
    done.set()


client.on_subscribe = on_subscribe
client.on_message = on_message
client.connect("127.0.0.1", port)
client.loop_start()
client.subscribe(response_topic, qos=1)
if not subscribed.wait(20):
    sys.exit("no SUBACK")
props = Properties(PacketTypes.PUBLISH)
props.ResponseTopic = response_topic
props.CorrelationData = b"corr-42"
client.publish(request_topic, payload, qos=1, properties=props)
if not done.wait(20):
    sys.exit("no reply within 20 s")
client.loop_stop()
print(f"{answer['topic']}\t{answer['correlation'].hex()}\t{answer['payload']}")
