"""The lab's "Connect a client" snippet, as a student pastes it: kafka-python with nothing
but `pip install kafka-python`, reading predictions. Usage:
prediction_subscriber.py BOOTSTRAP TOPIC N"""
import json
import sys

from kafka import KafkaConsumer

bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
consumer = KafkaConsumer(
    topic,
    bootstrap_servers=bootstrap,
    group_id="predictions-reader",
    auto_offset_reset="earliest",
    fetch_max_wait_ms=20,
    consumer_timeout_ms=20000,
)
classes = []
for record in consumer:
    classes.append(json.loads(record.value)["class"])
    if len(classes) == n:
        break
print("predictions", len(classes), " ".join(sorted(set(classes))))
