"""Exercise 4 from its README: mushroom_datagen.py. Numeric columns drawn near a training
row (a kernel density estimate with a small bandwidth), categorical codes uniformly within
[min, max] of their column; --burst_size 10 --sleep_interval 1000 --randomness 0 for 12 s."""
import csv
import random
import time

from student import BOOTSTRAP, KAFKA_PYTHON, T, args, dumps, output_topics, say

CATEGORICAL = ["cap-shape", "gill-attachment", "gill-color", "stem-color"]
NUMERIC = ["cap-diameter", "stem-height", "stem-width", "season"]
output_topics(T("mushroom_inference_request"))

with open(args.data) as f:
    rows = [{k: float(v) for k, v in row.items() if k != "class"} for row in csv.DictReader(f)]
ranges = {c: (min(r[c] for r in rows), max(r[c] for r in rows)) for c in CATEGORICAL + NUMERIC}


def request():
    row = random.choice(rows)
    features = {}
    for c in NUMERIC:
        lo, hi = ranges[c]
        x = random.gauss(row[c], 0.05 * (hi - lo))
        features[c] = min(max(x, 0.0), hi)
    for c in CATEGORICAL:
        lo, hi = ranges[c]
        features[c] = random.randint(int(lo), int(hi))
    return features


burst_size, sleep_interval_ms, randomness = 10, 1000, 0
if KAFKA_PYTHON:
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
    send = lambda key, value: producer.send(T("mushroom_inference_request"), key=key, value=value)
else:
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    send = lambda key, value: producer.produce(T("mushroom_inference_request"), key=key, value=value)

sent = 0
deadline = time.time() + 12
while time.time() < deadline:
    for _ in range(burst_size):
        key = b"key" if args.mistake == "seed-key" else f"req-{sent}".encode()
        send(key, dumps(request()).encode())
        sent += 1
    producer.flush()
    time.sleep(sleep_interval_ms / 1000 + random.uniform(0, randomness))
say("sent", sent)
