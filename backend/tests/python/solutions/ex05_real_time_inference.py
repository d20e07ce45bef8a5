"""Exercise 5 from its README: a service that answers each request with a prediction under
the request's key, committing after the answer is out. The model is a stand-in rule (the
checker checks keys and classes, not accuracy); the requests are exercise 4's kind."""
import json
import random

from student import BOOTSTRAP, KAFKA_PYTHON, T, args, dumps, output_topics, polled, say

output_topics(T("mushroom_inference_request"), T("mushroom_prediction"))


def to_row(features):
    return [features["stem-width"], features["cap-diameter"]]


class Model:  # the batch lab's model, reduced to a rule
    def predict(self, rows):
        return [1 if width > 1000 else 0 for width, _ in rows]


model = Model()
request = lambda: {"cap-diameter": random.uniform(100, 1800), "cap-shape": random.randint(0, 6),
                   "gill-attachment": random.randint(0, 6), "gill-color": random.randint(0, 11),
                   "stem-height": random.uniform(0, 3), "stem-width": random.uniform(0, 3000),
                   "stem-color": random.randint(0, 12), "season": random.uniform(0, 2)}
key = lambda i: b"key" if args.mistake == "seed-key" else f"req-{i}".encode()  # seed 000: b"key"
N = 30
answered = 0

if KAFKA_PYTHON:
    from kafka import KafkaConsumer, KafkaProducer

    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
    for i in range(N):  # the generator of exercise 4, briefly
        producer.send(T("mushroom_inference_request"), key=key(i), value=dumps(request()).encode())
    producer.flush()

    consumer = KafkaConsumer(T("mushroom_inference_request"), bootstrap_servers=BOOTSTRAP,
                             group_id=T("my-inference"), auto_offset_reset="earliest",
                             enable_auto_commit=False, fetch_max_wait_ms=20, consumer_timeout_ms=8000)
    for message in consumer:
        features = json.loads(message.value)
        label = model.predict([to_row(features)])[0]
        answer = {"class": "poisonous" if label == 1 else "edible"}
        producer.send(T("mushroom_prediction"), key=message.key, value=json.dumps(answer).encode())
        producer.flush()
        consumer.commit()
        answered += 1
else:
    from confluent_kafka import Consumer, Producer

    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    for i in range(N):
        producer.produce(T("mushroom_inference_request"), key=key(i), value=dumps(request()).encode())
    producer.flush()

    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": T("my-inference"),
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([T("mushroom_inference_request")])
    for message in polled(consumer, 8):
        features = json.loads(message.value())
        label = model.predict([to_row(features)])[0]
        answer = {"class": "poisonous" if label == 1 else "edible"}
        producer.produce(T("mushroom_prediction"), key=message.key(), value=json.dumps(answer).encode())
        producer.flush()
        consumer.commit(message=message, asynchronous=False)
        answered += 1
    consumer.close()

say("answered", answered, "of", N)
