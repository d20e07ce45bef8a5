"""Exercise 11 from its README: numbers (created with one partition, as it says) and
sentences; a rolling mean of three to rolling_means (as text: str() in Python, String() in
JavaScript) and an alert per sentence of more than six words to long_messages."""
import collections

from student import BOOTSTRAP, KAFKA_PYTHON, T, args, create_topic, dumps, number_text, output_topics, polled, say

if args.mistake != "auto-numbers":
    create_topic(T("numbers"), 1)
output_topics(T("sentences"), T("rolling_means"), T("long_messages"))
NUMBERS = ["1", "2", "3", "4", "10", "7", "2.5", "-3", "0.1"]
SENTENCES = ["short one", "this sentence has more than six words in it", "not long",
             "and another sentence that is long enough to alert", "seven words are not more than six"]


def rolling(values):
    window = collections.deque(maxlen=3)
    for v in values:
        window.append(float(v))
        if len(window) == 3:
            yield number_text(sum(window) / 3)


def alert(text):
    n = len(text.split())
    return dumps({"message": text, "words": n}) if n > 6 else None


if KAFKA_PYTHON:
    from kafka import KafkaConsumer, KafkaProducer
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
    for n in NUMBERS:
        producer.send(T("numbers"), n.encode())
    for s in SENTENCES:
        producer.send(T("sentences"), s.encode())
    producer.flush()

    numbers = KafkaConsumer(T("numbers"), bootstrap_servers=BOOTSTRAP, group_id=T("rolling"),
                            auto_offset_reset="earliest", consumer_timeout_ms=5000)
    for mean in rolling(m.value.decode() for m in numbers):
        producer.send(T("rolling_means"), mean.encode())
    sentences = KafkaConsumer(T("sentences"), bootstrap_servers=BOOTSTRAP, group_id=T("alerts"),
                              auto_offset_reset="earliest", consumer_timeout_ms=5000)
    for m in sentences:
        a = alert(m.value.decode())
        if a:
            producer.send(T("long_messages"), a.encode())
    producer.flush()
else:
    from confluent_kafka import Consumer, Producer
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    for n in NUMBERS:
        producer.produce(T("numbers"), n.encode())
    for s in SENTENCES:
        producer.produce(T("sentences"), s.encode())
    producer.flush()

    def values(topic, group):
        consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": group, "auto.offset.reset": "earliest"})
        consumer.subscribe([topic])
        for m in polled(consumer):
            yield m.value().decode()
        consumer.close()

    for mean in rolling(values(T("numbers"), T("rolling"))):
        producer.produce(T("rolling_means"), mean.encode())
    for text in values(T("sentences"), T("alerts")):
        a = alert(text)
        if a:
            producer.produce(T("long_messages"), a.encode())
    producer.flush()

say("done")
