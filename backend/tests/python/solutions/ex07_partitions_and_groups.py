"""Exercise 7 from its README: `partitioned` with 16 partitions, two consumers of
partitioned-group printing their assignment, keyed messages. Prints READY while both
consumers still run: the exercise is checked with them running, then this is stopped."""
import subprocess
import sys
import threading
import time

from student import BOOTSTRAP, KAFKA_PYTHON, T, create_topic, extra, say


def consumer():
    if KAFKA_PYTHON:
        from kafka import ConsumerRebalanceListener, KafkaConsumer

        class Show(ConsumerRebalanceListener):
            def on_partitions_assigned(self, assigned):
                print("assigned", sorted(p.partition for p in assigned), flush=True)

            def on_partitions_revoked(self, revoked):
                pass

        consumer = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=T("partitioned-group"),
                                 auto_offset_reset="earliest", fetch_max_wait_ms=20)
        consumer.subscribe([T("partitioned")], listener=Show())
        for m in consumer:
            print(m.partition, m.offset, m.key, m.value, flush=True)
    else:
        from confluent_kafka import Consumer

        def show(consumer, partitions):
            print("assigned", sorted(p.partition for p in partitions), flush=True)

        consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": T("partitioned-group"),
                             "auto.offset.reset": "earliest", "fetch.wait.max.ms": 20})
        consumer.subscribe([T("partitioned")], on_assign=show)
        while True:
            m = consumer.poll(1.0)
            if m is not None and not m.error():
                print(m.partition(), m.offset(), m.key(), m.value(), flush=True)


if "--consumer" in extra:
    consumer()
    sys.exit(0)

create_topic(T("partitioned"), 16)
assigned = {}
consumed = [0]
lock = threading.Lock()


def follow(name, process):
    for line in process.stdout:
        with lock:
            if line.startswith("assigned"):
                assigned[name] = eval(line[len("assigned"):])
            elif line.strip():
                consumed[0] += 1
        print(name, line.rstrip(), flush=True)


workers = []
for name in ["A", "B"]:
    p = subprocess.Popen([sys.executable] + sys.argv + ["--consumer"], stdout=subprocess.PIPE, text=True)
    threading.Thread(target=follow, args=(name, p), daemon=True).start()
    workers.append(p)
    time.sleep(1)

deadline = time.time() + 90
while time.time() < deadline:
    with lock:
        split = len(assigned) == 2 and sum(len(a) for a in assigned.values()) == 16 and all(assigned.values())
    if split:
        break
    time.sleep(0.2)
say("split", assigned)

N = 40
if KAFKA_PYTHON:
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)
    for i in range(N):
        producer.send(T("partitioned"), key=str(i).encode(), value=f"message {i}".encode())
    producer.flush()
else:
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    for i in range(N):
        producer.produce(T("partitioned"), key=str(i).encode(), value=f"message {i}".encode())
    producer.flush()

while time.time() < deadline and consumed[0] < N:
    time.sleep(0.2)
time.sleep(7)  # auto-commit runs every 5 s
say("consumed", consumed[0], "READY")
try:
    time.sleep(600)
finally:
    for p in workers:
        p.kill()
