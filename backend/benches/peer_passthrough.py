"""The free-running Python pass-through: confluent-kafka consume(1000) → produce, never
waiting per batch. What a ten-line script moves on this broker; the bench's ceiling must
be at least this.
Usage: peer_passthrough.py BOOTSTRAP FROM TO COUNT
Prints: '<count> <seconds>' from the first record read to the last acknowledged."""
import sys, time

from confluent_kafka import Consumer, Producer

bootstrap, source, target, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
# fetch.queue.backoff.ms as (a) and the service set it: the default 1 s idles a drain.
consumer = Consumer(
    {
        "bootstrap.servers": bootstrap,
        "group.id": f"bench-{target}",
        "auto.offset.reset": "earliest",
        "fetch.queue.backoff.ms": 10,
    }
)
consumer.subscribe([source])
producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "queue.buffering.max.messages": 1000000})
acked = 0


def on_ack(err, _msg):
    global acked
    if err is None:
        acked += 1


read, start = 0, None
while read < count:
    batch = [m for m in consumer.consume(1000, timeout=1.0) if m.error() is None]
    if not batch:
        continue
    if start is None:
        start = time.perf_counter()
    for m in batch:
        producer.produce(target, key=m.key(), value=m.value(), on_delivery=on_ack)
    producer.poll(0)
    read += len(batch)
producer.flush()
print(acked, time.perf_counter() - start)
