"""Exercise 1 from its README: a one-partition topic, two messages, the one at offset 1
read by seeking, and the answer {"offset", "value"}."""
import json

from student import BOOTSTRAP, KAFKA_PYTHON, T, create_topic, dumps, output_topics, say

create_topic(T("dev_sandbox"), 1)  # step 1: one partition, as the README says
output_topics(T("dev_sandbox_answers"))

if KAFKA_PYTHON:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
    for text in ["first", "second"]:
        producer.send(T("dev_sandbox"), text.encode())
    producer.flush()

    consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP)
    tp = TopicPartition(T("dev_sandbox"), 0)
    consumer.assign([tp])
    consumer.seek(tp, 1)
    message = next(consumer)
    offset, value = message.offset, message.value.decode()

    producer.send(T("dev_sandbox_answers"), key=b"read_by_offset",
                  value=dumps({"offset": offset, "value": value}).encode())
    producer.flush()
else:
    from confluent_kafka import Consumer, Producer, TopicPartition

    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    for text in ["first", "second"]:
        producer.produce(T("dev_sandbox"), text.encode())
    producer.flush()

    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": T("offset-reader"),
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(T("dev_sandbox"), 0, 1)])
    message = None
    while message is None or message.error():
        message = consumer.poll(1.0)
    offset, value = message.offset(), message.value().decode()
    consumer.close()

    producer.produce(T("dev_sandbox_answers"), key=b"read_by_offset",
                     value=json.dumps({"offset": offset, "value": value}).encode())
    producer.flush()

say("read", offset, value)
