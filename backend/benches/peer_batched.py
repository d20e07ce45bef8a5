"""The batched peer: confluent-kafka consume(500) and one scikit-learn predict per batch.
Usage: peer_batched.py BOOTSTRAP REQUESTS OUTPUT CSV COUNT
Prints: '<count> <seconds>' for the messages it answered."""
import json, sys, time

import numpy as np
import pandas as pd
from confluent_kafka import Consumer, Producer
from sklearn.ensemble import RandomForestClassifier

bootstrap, requests, output, csv, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
data = pd.read_csv(csv)
columns = [c for c in data.columns if c != "class"]
model = RandomForestClassifier(n_estimators=100, random_state=42, n_jobs=1).fit(data[columns].values, data["class"])

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{output}", "auto.offset.reset": "earliest"})
consumer.subscribe([requests])
producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
done, start = 0, None
while done < count:
    batch = [m for m in consumer.consume(500, timeout=1.0) if m.error() is None]
    if not batch:
        continue
    if start is None:
        start = time.perf_counter()
    rows = np.array([[json.loads(m.value())[c] for c in columns] for m in batch])
    labels = model.predict(rows)
    for m, label in zip(batch, labels):
        producer.produce(output, key=m.key(), value=json.dumps({"label": int(label)}))
        producer.poll(0)
    done += len(batch)
producer.flush()
print(done, time.perf_counter() - start)
