"""Exercise 10 from its README: six sensors write 18 samples to INGESTION (half with
payload as a JSON string), and a consumer sends each on to SENSOR_ID_<sensor_id>."""
import json
import random
import time
import uuid

from student import BOOTSTRAP, KAFKA_PYTHON, T, dumps, output_topics, polled, say

output_topics(T("INGESTION"), *[T(f"SENSOR_ID_{i}") for i in range(1, 7)])


def sample(i):
    sensor = i % 6 + 1
    payload = {"sensor_id": sensor, "modality": random.randint(100, 999), "unit": "MW", "temporal_aspect": "real_time"}
    return {"payload": payload if i % 2 else json.dumps(payload), "correlation_id": str(uuid.uuid4()),
            "created_at": time.time(), "schema_version": 1}


def route(value):
    record = json.loads(value)
    payload = record["payload"]
    if isinstance(payload, str):
        payload = json.loads(payload)
    return T(f"SENSOR_ID_{payload['sensor_id']}")


routed = 0
if KAFKA_PYTHON:
    from kafka import KafkaConsumer, KafkaProducer
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
    for i in range(18):
        producer.send(T("INGESTION"), dumps(sample(i)).encode())
    producer.flush()
    consumer = KafkaConsumer(T("INGESTION"), bootstrap_servers=BOOTSTRAP, group_id=T("splitter"),
                             auto_offset_reset="earliest", consumer_timeout_ms=5000)
    for message in consumer:
        producer.send(route(message.value), message.value)
        routed += 1
    producer.flush()
else:
    from confluent_kafka import Consumer, Producer
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    for i in range(18):
        producer.produce(T("INGESTION"), dumps(sample(i)).encode())
    producer.flush()
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": T("splitter"), "auto.offset.reset": "earliest"})
    consumer.subscribe([T("INGESTION")])
    for message in polled(consumer):
        producer.produce(route(message.value()), message.value())
        routed += 1
    producer.flush()
    consumer.close()

say("routed", routed)
