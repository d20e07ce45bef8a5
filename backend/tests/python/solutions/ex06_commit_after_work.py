"""Exercise 6 from its README: a worker that stores each item, waits, then commits; stopped
with Ctrl-C between "Start storing" and "End storing", started again, let finish."""
import os
import signal
import subprocess
import sys
import time

from student import BOOTSTRAP, KAFKA_PYTHON, T, extra, output_topics, polled, say


def worker():
    if KAFKA_PYTHON:
        from kafka import KafkaConsumer, KafkaProducer
        producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
        consumer = KafkaConsumer(T("work_items"), bootstrap_servers=BOOTSTRAP, group_id=T("workers"),
                                 auto_offset_reset="earliest", enable_auto_commit=False,
                                 consumer_timeout_ms=20000)
        try:
            for message in consumer:
                print("Start storing", message.value, flush=True)
                producer.send(T("work_done"), message.value); producer.flush()
                time.sleep(2)
                consumer.commit()
                print("End storing", flush=True)
        finally:
            consumer.close()  # leaves the group (nothing is committed: auto-commit is off)
    else:
        from confluent_kafka import Consumer, Producer
        producer = Producer({"bootstrap.servers": BOOTSTRAP})
        consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": T("workers"),
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.subscribe([T("work_items")])
        try:
            for message in polled(consumer, 20):
                print("Start storing", message.value(), flush=True)
                producer.produce(T("work_done"), message.value()); producer.flush()
                time.sleep(2)
                consumer.commit(message=message, asynchronous=False)
                print("End storing", flush=True)
        finally:
            consumer.close()  # the confluent-kafka examples' pattern: leave the group on Ctrl-C


if "--worker" in extra:
    try:
        worker()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    sys.exit(0)

output_topics(T("work_items"), T("work_done"))
if KAFKA_PYTHON:
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
    for i in range(1, 4):
        producer.send(T("work_items"), f"item {i}".encode())
    producer.flush()
else:
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    for i in range(1, 4):
        producer.produce(T("work_items"), f"item {i}".encode())
    producer.flush()

command = [sys.executable] + sys.argv + ["--worker"]
first = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
starts = 0
for line in first.stdout:  # step 3: Ctrl-C during the second item's store
    print("worker:", line.rstrip(), flush=True)
    if line.startswith("Start storing"):
        starts += 1
        if starts == 2:
            time.sleep(0.5)
            first.send_signal(signal.SIGINT)
            break
first.wait(timeout=30)
again = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=120)  # step 4
print(again.stdout, flush=True)
say("restarted worker stored", again.stdout.count("End storing"))
