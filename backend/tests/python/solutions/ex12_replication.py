"""Exercise 12 from its README, one step per run, as a student runs it between taking
brokers away:

  --phase create     step 1 and 2: the topic (three copies, two in sync, an hour's retention), ten records
  --phase one-down   step 3: ten more with one broker away; every send must be answered
  --phase two-down   step 4: one send with two away; prints the error (ERROR <text>)
  --phase answer --answer TEXT   step 5: the error sent back, with the brokers back
"""
from student import BOOTSTRAP, KAFKA_PYTHON, T, extra, say, wait_for_topic

phase = extra[extra.index("--phase") + 1]
answer = extra[extra.index("--answer") + 1] if "--answer" in extra else None
TOPIC = T("replicated")

if phase == "create":
    settings = {"min.insync.replicas": "2", "retention.ms": "3600000"}
    if KAFKA_PYTHON:
        from kafka.admin import KafkaAdminClient, NewTopic
        admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
        admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=3, topic_configs=settings)])
        admin.close()
    else:
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
        for future in admin.create_topics([NewTopic(TOPIC, 1, 3, config=settings)]).values():
            future.result(timeout=30)
    wait_for_topic(TOPIC)


def send_all(values):
    """Sends each value with acks=all and no retries; returns the error text of the first
    refused send, or None when every one was written."""
    if KAFKA_PYTHON:
        from kafka import KafkaProducer
        producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", retries=0)
        try:
            for v in values:
                say("written", producer.send(TOPIC, v.encode()).get(timeout=30))
        except Exception as e:  # what the student's terminal shows
            return f"{type(e).__name__}: {e}"
        finally:
            producer.close(timeout=5)
        return None
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all", "retries": 0})
    errors = []
    for v in values:
        producer.produce(TOPIC, v.encode(), on_delivery=lambda err, msg: errors.append(err) if err else say("written", msg.offset()))
        producer.flush(30)
        if errors:
            return str(errors[0])
    return None


if phase == "create":
    error = send_all([f"reading {i}" for i in range(10)])
    assert error is None, error
elif phase == "one-down":
    error = send_all([f"reading {i}" for i in range(10, 20)])
    assert error is None, f"with one broker away, acks=all still writes: {error}"
elif phase == "two-down":
    say("ERROR", send_all(["reading 20"]))
elif phase == "answer":
    if KAFKA_PYTHON:
        from kafka import KafkaProducer
        producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
        producer.send(T("replicated_answers"), key=b"two_brokers_down", value=answer.encode())
        producer.flush()
    else:
        from confluent_kafka import Producer
        producer = Producer({"bootstrap.servers": BOOTSTRAP})
        producer.produce(T("replicated_answers"), key=b"two_brokers_down", value=answer.encode())
        producer.flush(30)
