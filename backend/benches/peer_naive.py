"""The course's naive peer: kafka-python, one message at a time, scikit-learn RandomForest
predict per message. Usage: peer_naive.py BOOTSTRAP REQUESTS OUTPUT CSV COUNT
Prints: '<count> <seconds>' for the messages it answered."""
import json, sys, time

import pandas as pd
from kafka import KafkaConsumer, KafkaProducer
from sklearn.ensemble import RandomForestClassifier

bootstrap, requests, output, csv, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
data = pd.read_csv(csv)
columns = [c for c in data.columns if c != "class"]
model = RandomForestClassifier(n_estimators=100, random_state=42, n_jobs=1).fit(data[columns], data["class"])

consumer = KafkaConsumer(requests, bootstrap_servers=bootstrap, group_id="bench-naive", auto_offset_reset="earliest",
                         enable_auto_commit=True)
producer = KafkaProducer(bootstrap_servers=bootstrap)
done, start = 0, None
for message in consumer:
    if start is None:
        start = time.perf_counter()
    request = json.loads(message.value)
    row = pd.DataFrame([[request[c] for c in columns]], columns=columns)
    label = int(model.predict(row)[0])
    producer.send(output, key=message.key, value=json.dumps({"label": label}).encode())
    done += 1
    if done >= count:
        break
producer.flush()
print(done, time.perf_counter() - start)
