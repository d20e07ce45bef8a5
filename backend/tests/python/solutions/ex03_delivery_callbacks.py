"""Exercise 3 from its README: three messages with delivery callbacks; the offset the
callback printed for #3 is the answer."""
from student import BOOTSTRAP, KAFKA_PYTHON, T, output_topics, say

output_topics(T("dev_callbacks"), T("dev_sandbox_answers"))
offsets = {}

if KAFKA_PYTHON:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP)

    def on_success(metadata):
        print(f"Message produced to topic '{metadata.topic}' at offset {metadata.offset}")
        offsets[len(offsets) + 1] = metadata.offset

    def on_error(e):
        print(f"Error sending message: {e}")

    for i in range(1, 4):
        future = producer.send(T("dev_callbacks"), value=f"Message with id #{i}".encode())
        future.add_callback(on_success)
        future.add_errback(on_error)
        producer.flush()  # one at a time, so the callbacks come in order

    producer.send(T("dev_sandbox_answers"), key=b"offset_3", value=str(offsets[3]).encode())
    producer.flush()
    producer.close()
else:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": BOOTSTRAP})

    def delivery_callback(err, msg):
        if err:
            print(f"Error sending message: {err}")
        else:
            print(f"Message produced to topic '{msg.topic()}' at offset {msg.offset()}")
            offsets[msg.value().decode()] = msg.offset()

    for i in range(1, 4):
        producer.produce(T("dev_callbacks"), value=f"Message with id #{i}".encode(), callback=delivery_callback)
    producer.flush()
    offsets[3] = offsets["Message with id #3"]
    producer.produce(T("dev_sandbox_answers"), key=b"offset_3", value=str(offsets[3]).encode())
    producer.flush()

say("offset of #3:", offsets[3])
