"""What every solution shares: its command line and the few lines a student writes around
the README's snippets (the namespace prefix, creating a topic with an admin client).

Each solution is run as:  exNN_*.py --bootstrap HOST:PORT --student NAME --client CLIENT
  --client   kafka-python (the READMEs' client) or confluent-kafka
  --topics   auto: topics the README does not ask to create are created by the first write
             (the broker picks their partitions); admin: created first with an admin client
  --numbers  python: floats as Python and json.dumps print them (2.0); js: as JavaScript
             prints them (2)
  --avro     fastavro or avro (the Apache `avro` package)
  --mistake  a named mistake a student makes, which the checker must fail
"""
import argparse
import json
import math
import time

parser = argparse.ArgumentParser()
parser.add_argument("--bootstrap", required=True)
parser.add_argument("--student", required=True)
parser.add_argument("--client", choices=["kafka-python", "confluent-kafka"], default="kafka-python")
parser.add_argument("--topics", choices=["auto", "admin"], default="auto")
parser.add_argument("--numbers", choices=["python", "js"], default="python")
parser.add_argument("--avro", choices=["fastavro", "avro"], default="fastavro")
parser.add_argument("--streamlab", help="the streamlab binary (exercises 8 and 9)")
parser.add_argument("--data", help="the mushroom CSV (exercise 4)")
parser.add_argument("--mistake", help="make a named mistake (a near-miss the checker must fail)")
args, extra = parser.parse_known_args()

BOOTSTRAP = args.bootstrap
KAFKA_PYTHON = args.client == "kafka-python"


def T(name):
    """A topic or group in the student's namespace, as the READMEs' last line asks; the
    lab's own names for a learner on her own (--student "")."""
    return f"{args.student}.{name}" if args.student else name


def create_topic(name, partitions):
    """The lab's Topics page or an admin client; here the chosen client's admin. A topic an
    earlier exercise created is kept, as a student doing the exercises in turn would."""
    if KAFKA_PYTHON:
        from kafka.admin import KafkaAdminClient, NewTopic
        from kafka.errors import TopicAlreadyExistsError
        admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
        try:
            admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        except TopicAlreadyExistsError:
            pass
        admin.close()
    else:
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
        for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
            try:
                future.result(timeout=30)
            except KafkaException as e:
                if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
    wait_for_topic(name)


def wait_for_topic(name):
    """Metadata reaches every client a moment after the topic is created."""
    if KAFKA_PYTHON:
        from kafka import KafkaConsumer
        c = KafkaConsumer(bootstrap_servers=BOOTSTRAP)
        for _ in range(100):
            if name in c.topics():
                break
            time.sleep(0.1)
        c.close()
    else:
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
        for _ in range(100):
            if name in admin.list_topics(timeout=10).topics:
                break
            time.sleep(0.1)


def output_topics(*names):
    """Topics the README does not ask to create: with --topics admin created first (2
    partitions), with --topics auto left to the first write."""
    if args.topics == "admin":
        for n in names:
            create_topic(n, 2)


def dumps(value):
    """json.dumps, or numbers as JavaScript's JSON.stringify prints them."""
    if args.numbers == "python":
        return json.dumps(value)
    return json.dumps(js(value), separators=(",", ":"))


def number_text(x):
    """A number as text: str() in Python, String() in JavaScript."""
    if args.numbers == "js" and isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def js(value):
    """JavaScript has one number type: 2.0 prints as 2, 23.333824157714844 as itself."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: js(v) for k, v in value.items()}
    if isinstance(value, list):
        return [js(v) for v in value]
    return value


def say(*words):
    print(*words, flush=True)


def polled(consumer, idle_seconds=5):
    """confluent-kafka's poll loop, ended when nothing arrives for idle_seconds (where a
    student would press Ctrl-C): kafka-python's consumer_timeout_ms, for confluent-kafka."""
    idle = 0
    while idle < idle_seconds:
        message = consumer.poll(1.0)
        if message is None or message.error():
            idle += 1
            continue
        idle = 0
        yield message
