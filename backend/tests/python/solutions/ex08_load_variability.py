"""Exercise 8 from its README: run the experiment producer with overlapping experiments
(experiments.json: a 4 s version of loads/3.json, peak 90/s), read the peak rate off the
per-second counts, as the Production rate graph draws them, and send it."""
import collections
import os
import subprocess

from student import BOOTSTRAP, KAFKA_PYTHON, T, args, output_topics, polled, say

output_topics(T("experiment"), T("experiment_answers"))
config = os.path.join(os.path.dirname(os.path.abspath(__file__)), "experiments.json")
subprocess.run([args.streamlab, "experiment", "-b", BOOTSTRAP, "--topic", T("experiment"),
                "--config-file", config, "--metrics-addr", "off"], check=True, stdout=subprocess.DEVNULL)

per_second = collections.Counter()
if KAFKA_PYTHON:
    from kafka import KafkaConsumer, KafkaProducer
    consumer = KafkaConsumer(T("experiment"), bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest",
                             consumer_timeout_ms=5000)
    for message in consumer:
        per_second[message.timestamp // 1000] += 1
    peak = max(per_second.values())
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
    producer.send(T("experiment_answers"), key=b"peak_rate", value=str(peak).encode())
    producer.flush()
else:
    from confluent_kafka import Consumer, Producer
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": T("rate-reader"),
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([T("experiment")])
    for message in polled(consumer):
        per_second[message.timestamp()[1] // 1000] += 1
    consumer.close()
    peak = max(per_second.values())
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    producer.produce(T("experiment_answers"), key=b"peak_rate", value=str(peak).encode())
    producer.flush()

say("per second", sorted(per_second.items()), "peak", peak)
