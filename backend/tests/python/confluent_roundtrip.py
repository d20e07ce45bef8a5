"""confluent-kafka: a producer with a delivery callback and a group consumer.
Usage: confluent_roundtrip.py BOOTSTRAP TOPIC"""
import sys

from confluent_kafka import Consumer, Producer

bootstrap, topic = sys.argv[1], sys.argv[2]

delivered = []
producer = Producer({"bootstrap.servers": bootstrap})
for i in range(10):
    producer.produce(topic, key=str(i), value=f"value {i}",
                     on_delivery=lambda err, msg: delivered.append(msg) if err is None else print("failed", err))
producer.flush(15)
print("delivered", len(delivered))

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "py-confluent",
                     "auto.offset.reset": "earliest", "enable.auto.commit": False})
consumer.subscribe([topic])
values = []
for _ in range(300):
    msg = consumer.poll(0.1)
    if msg is None or msg.error():
        continue
    values.append(msg.value())
    if len(values) == 10:
        break
consumer.commit(asynchronous=False)
print("consumed", len(values))
consumer.close()
