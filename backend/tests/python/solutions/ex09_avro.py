"""Exercise 9 from its README: print each record's header record_name and the decoded
record, and republish json.dumps({"record_name": name, "record": record}) to
experiment_json. --avro fastavro (the README's snippet) or avro (DataFileReader)."""
import io
import json
import os
import subprocess

from student import BOOTSTRAP, KAFKA_PYTHON, T, args, dumps, output_topics, polled, say

output_topics(T("experiment"), T("experiment_json"))
config = os.path.join(os.path.dirname(os.path.abspath(__file__)), "experiments.json")
subprocess.run([args.streamlab, "experiment", "-b", BOOTSTRAP, "--topic", T("experiment"),
                "--config-file", config, "--metrics-addr", "off"], check=True, stdout=subprocess.DEVNULL)


def decode(value):
    if args.avro == "fastavro":
        import fastavro
        return next(fastavro.reader(io.BytesIO(value)))
    from avro.datafile import DataFileReader
    from avro.io import DatumReader
    return next(iter(DataFileReader(io.BytesIO(value), DatumReader())))


republished = 0
if KAFKA_PYTHON:
    from kafka import KafkaConsumer, KafkaProducer
    consumer = KafkaConsumer(T("experiment"), bootstrap_servers=BOOTSTRAP, group_id=T("avro-reader"),
                             auto_offset_reset="earliest", consumer_timeout_ms=5000)
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
    for message in consumer:
        name = dict(message.headers)["record_name"].decode()
        record = decode(message.value)
        if args.mistake == "round-floats" and "temperature" in record:
            record["temperature"] = round(record["temperature"], 2)
        print(name, record, sep="\n")
        producer.send(T("experiment_json"), key=message.key,
                      value=dumps({"record_name": name, "record": record}).encode())
        republished += 1
    producer.flush()
else:
    from confluent_kafka import Consumer, Producer
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": T("avro-reader"),
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([T("experiment")])
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    for message in polled(consumer):
        name = dict(message.headers())["record_name"].decode()
        record = decode(message.value())
        print(name, record, sep="\n")
        producer.produce(T("experiment_json"), key=message.key(),
                         value=dumps({"record_name": name, "record": record}).encode())
        producer.poll(0)
        republished += 1
    producer.flush()
    consumer.close()

say("republished", republished)
