"""A student on a cluster that checks rights, with the client configured as the exercise
READMEs show it plus her name and class token. Prints one JSON object: what she could do
and the name of each error she met.

Usage: sasl_student.py kafka-python|confluent BOOTSTRAP USER PASSWORD LAB_TOPIC OTHER_STUDENT"""
import json
import sys
import time
import uuid

client, bootstrap, user, password, lab_topic, other = sys.argv[1:7]
own = f"{user}.orders-{uuid.uuid4().hex[:6]}"
theirs = f"{other}.orders"
found = {}


def error_name(e):
    """kafka-python's exception class, or librdkafka's error name (e.g. TOPIC_AUTHORIZATION_FAILED)."""
    if client == "confluent":
        err = e.args[0] if e.args and hasattr(e.args[0], "name") else None
        return err.name() if err else type(e).__name__
    return type(e).__name__


if client == "kafka-python":
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

    sasl = dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256",
                sasl_plain_username=user, sasl_plain_password=password)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **sasl)
    admin.create_topics([NewTopic(own, 1, 1)])
    producer = KafkaProducer(bootstrap_servers=bootstrap, **sasl)
    for i in range(3):
        producer.send(own, f"order {i}".encode()).get(timeout=30)
    found["own_written"] = 3
    consumer = KafkaConsumer(own, bootstrap_servers=bootstrap, group_id=f"{user}.orders-reader",
                             auto_offset_reset="earliest", consumer_timeout_ms=15000, **sasl)
    found["own_read"] = sum(1 for _, m in zip(range(3), consumer))
    consumer.close()
    consumer = KafkaConsumer(lab_topic, bootstrap_servers=bootstrap, group_id=f"{user}.lab-reader",
                             auto_offset_reset="earliest", consumer_timeout_ms=15000, **sasl)
    found["lab_read"] = sum(1 for _, m in zip(range(1), consumer))
    consumer.close()
    try:
        producer.send(theirs, b"not mine").get(timeout=30)
        found["other_write"] = "written"
    except Exception as e:
        found["other_write"] = error_name(e)
    # kafka-python raises the refusal inside its metadata listener, which logs it: the
    # student's loop just sees nothing, and the log says why.
    import logging

    class Heard(logging.Handler):
        said = []

        def emit(self, record):
            Heard.said.append(record.getMessage())

    logging.getLogger("kafka").addHandler(Heard())
    try:
        consumer = KafkaConsumer(theirs, bootstrap_servers=bootstrap, group_id=f"{user}.snoop",
                                 auto_offset_reset="earliest", consumer_timeout_ms=10000, **sasl)
        n = sum(1 for _ in consumer)
        logged = [line for line in Heard.said if "not authorized" in line]
        found["other_read"] = f"read {n}" + (f", logged: {logged[0]}" if logged else "")
    except Exception as e:
        found["other_read"] = error_name(e)
    for key, topic in [("other_delete", theirs), ("lab_delete", lab_topic)]:
        try:
            admin.delete_topics([topic])
            found[key] = "deleted"
        except Exception as e:
            found[key] = error_name(e)
    producer.close()
    admin.close()
    # kafka-python hears a refused password as the broker closing the connection: it gives up
    # bootstrapping (KafkaTimeoutError); the broker's log says why.
    wrong = dict(sasl, sasl_plain_password=password + "x", bootstrap_timeout_ms=8000)
    try:
        try:
            KafkaProducer(bootstrap_servers=bootstrap, **wrong).close()
        except ValueError:  # a kafka-python before 3.0 has no bootstrap_timeout_ms
            del wrong["bootstrap_timeout_ms"]
            KafkaProducer(bootstrap_servers=bootstrap, **wrong).close()
        found["wrong_password"] = "signed in"
    except Exception as e:
        found["wrong_password"] = error_name(e)
else:
    from confluent_kafka import Consumer, KafkaException, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    sasl = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": user, "sasl.password": password}
    admin = AdminClient(sasl)
    admin.create_topics([NewTopic(own, 1, 1)])[own].result(30)
    delivered = []
    producer = Producer(sasl)
    for i in range(3):
        producer.produce(own, f"order {i}".encode(), on_delivery=lambda err, m: delivered.append(err))
    producer.flush(30)
    found["own_written"] = sum(1 for err in delivered if err is None)

    def read(topic, group, want, wait=15):
        consumer = Consumer(dict(sasl, **{"group.id": group, "auto.offset.reset": "earliest"}))
        consumer.subscribe([topic])
        got, deadline = 0, time.time() + wait
        try:
            while got < want and time.time() < deadline:
                m = consumer.poll(1)
                if m is None:
                    continue
                if m.error():
                    if m.error().name() == "UNKNOWN_TOPIC_OR_PART":
                        continue
                    return m.error().name()
                got += 1
            return got
        finally:
            consumer.close()

    found["own_read"] = read(own, f"{user}.orders-reader", 3)
    found["lab_read"] = read(lab_topic, f"{user}.lab-reader", 1)
    delivered.clear()
    producer.produce(theirs, b"not mine", on_delivery=lambda err, m: delivered.append(err))
    producer.flush(30)
    found["other_write"] = delivered[0].name() if delivered and delivered[0] else "written"
    found["other_read"] = read(theirs, f"{user}.snoop", 1, wait=10)
    for key, topic in [("other_delete", theirs), ("lab_delete", lab_topic)]:
        try:
            admin.delete_topics([topic], operation_timeout=10)[topic].result(30)
            found[key] = "deleted"
        except KafkaException as e:
            found[key] = error_name(e)
    errors = []
    wrong = Producer(dict(sasl, **{"sasl.password": password + "x", "error_cb": lambda e: errors.append(e)}))
    try:
        wrong.list_topics(timeout=8)
        found["wrong_password"] = "signed in"
    except KafkaException as e:
        wrong.poll(1)  # serves error_cb: librdkafka's reason for the closed connection
        names = [err.name() for err in errors]
        found["wrong_password"] = "_AUTHENTICATION" if "_AUTHENTICATION" in names else (names or [error_name(e)])[0]

print(json.dumps(found, sort_keys=True))
