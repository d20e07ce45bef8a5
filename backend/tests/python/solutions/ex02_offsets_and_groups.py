"""Exercise 2 from its README: read dev_sandbox in sandbox-group and let it commit, start
again, read in a new earliest group and a new latest group, and send the three answers."""
from student import BOOTSTRAP, KAFKA_PYTHON, T, create_topic, output_topics, polled, say

create_topic(T("dev_sandbox"), 1)  # exercise 1's topic, with its messages
output_topics(T("dev_sandbox_answers"))
TOPIC = T("dev_sandbox")

if KAFKA_PYTHON:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
    for text in ["first", "second", "third"]:
        producer.send(TOPIC, text.encode())
    producer.flush()

    def read(group, reset):
        consumer = KafkaConsumer(
            bootstrap_servers=BOOTSTRAP,
            group_id=group,
            auto_offset_reset=reset,
            consumer_timeout_ms=6000,  # stop when nothing arrives (a student presses Ctrl-C)
        )
        consumer.subscribe([TOPIC])
        printed = 0
        for message in consumer:
            print(f"{message.partition}|{message.offset} key={message.key} {message.value}")
            printed += 1
        position = consumer.position(TopicPartition(TOPIC, 0)) if consumer.assignment() else None
        consumer.close()  # commits what was read (enable_auto_commit is on)
        return printed, position

    read(T("sandbox-group"), "earliest")                      # step 1
    _, starts_at = read(T("sandbox-group"), "earliest")       # step 2: where does it start?
    earliest, _ = read(T("sandbox-earliest"), "earliest")     # step 3
    latest, _ = read(T("sandbox-latest"), "latest")           # step 4
    for key, value in [("second_read_starts_at", starts_at), ("earliest", earliest), ("latest", latest)]:
        producer.send(T("dev_sandbox_answers"), key=key.encode(), value=str(value).encode())
    producer.flush()
else:
    from confluent_kafka import Consumer, Producer, TopicPartition

    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    for text in ["first", "second", "third"]:
        producer.produce(TOPIC, text.encode())
    producer.flush()

    def read(group, reset):
        consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": group, "auto.offset.reset": reset})
        consumer.subscribe([TOPIC])
        printed = 0
        for message in polled(consumer, 6):
            print(f"{message.partition()}|{message.offset()} key={message.key()} {message.value()}")
            printed += 1
        committed = consumer.committed([TopicPartition(TOPIC, 0)], timeout=10)[0].offset
        consumer.close()  # commits what was read (enable.auto.commit is on)
        return printed, committed

    read(T("sandbox-group"), "earliest")
    # Where a second start begins: the group's committed offset (the Consumer groups page).
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": T("sandbox-group")})
    starts_at = consumer.committed([TopicPartition(TOPIC, 0)], timeout=10)[0].offset
    consumer.close()
    earliest, _ = read(T("sandbox-earliest"), "earliest")
    latest, _ = read(T("sandbox-latest"), "latest")
    for key, value in [("second_read_starts_at", starts_at), ("earliest", earliest), ("latest", latest)]:
        producer.produce(T("dev_sandbox_answers"), key=key.encode(), value=str(value).encode())
    producer.flush()

say("answers", starts_at, earliest, latest)
