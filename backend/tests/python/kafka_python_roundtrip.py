"""Seed 000's kafka-python snippets: a producer with delivery callbacks, then a consumer
with a group_id that commits. Usage: kafka_python_roundtrip.py BOOTSTRAP TOPIC"""
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

bootstrap, topic = sys.argv[1], sys.argv[2]

acked = []
producer = KafkaProducer(bootstrap_servers=bootstrap)
for i in range(1, 4):
    future = producer.send(topic, key=f"id-{i}".encode(), value=f"Message with id #{i}".encode())
    future.add_callback(lambda md: acked.append(md.offset))
    future.add_errback(lambda e: print("delivery failed:", e))
producer.flush()
print("acknowledged", len(acked))

consumer = KafkaConsumer(
    topic,
    bootstrap_servers=bootstrap,
    group_id="py-kafka-python",
    auto_offset_reset="earliest",
    enable_auto_commit=False,
    consumer_timeout_ms=15000,
)
values = []
for message in consumer:
    values.append(message.value.decode())
    if len(values) == 3:
        break
print("consumed", len(values), sorted(values))
consumer.commit()
partitions = consumer.partitions_for_topic(topic)
committed = sum(consumer.committed(TopicPartition(topic, p)) or 0 for p in partitions)
print("committed", committed)
consumer.close()
