"""The course's Schema Registry steps with confluent-kafka, unmodified and with default
settings: AvroSerializer registers the sensor schema as it produces, the schema evolves with a
field that has a default, an incompatible change is refused, AvroDeserializer reads back, and
JSONSerializer writes with a JSON Schema. Prints one JSON object of what it saw.

    python3 schema_registry_roundtrip.py REGISTRY_URL BOOTSTRAP TOPIC
"""
import json
import sys

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

url, bootstrap, topic = sys.argv[1:4]
registry = SchemaRegistryClient({"url": url})
seen = {}

v1 = {"type": "record", "name": "SensorReading", "fields": [
    {"name": "sensor_id", "type": "string"}, {"name": "value", "type": "double"}]}
serialize = AvroSerializer(registry, json.dumps(v1))
producer = Producer({"bootstrap.servers": bootstrap})
written = [{"sensor_id": f"s{i}", "value": i * 1.5} for i in range(5)]
for reading in written:
    producer.produce(topic, serialize(reading, SerializationContext(topic, MessageField.VALUE)))
producer.flush(10)
subject = f"{topic}-value"
latest = registry.get_latest_version(subject)
seen["v1"] = {"version": latest.version, "id": latest.schema_id}

v2 = dict(v1, fields=v1["fields"] + [{"name": "unit", "type": "string", "default": "C"}])
seen["v2_compatible"] = registry.test_compatibility(subject, Schema(json.dumps(v2), "AVRO"))
seen["v2_id"] = registry.register_schema(subject, Schema(json.dumps(v2), "AVRO"))
seen["versions"] = registry.get_versions(subject)

# A new field without a default: version 2's records lack it, so the new schema cannot read them.
v3 = dict(v2, fields=v2["fields"] + [{"name": "location", "type": "string"}])
seen["v3_compatible"] = registry.test_compatibility(subject, Schema(json.dumps(v3), "AVRO"))
try:
    registry.register_schema(subject, Schema(json.dumps(v3), "AVRO"))
    seen["v3_refused"] = None
except SchemaRegistryError as e:
    seen["v3_refused"] = {"status": e.http_status_code, "code": e.error_code, "message": e.error_message}
seen["level"] = registry.get_compatibility()

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-reader", "auto.offset.reset": "earliest"})
consumer.subscribe([topic])
deserialize = AvroDeserializer(registry)
read = []
for _ in range(60):
    if len(read) == len(written):
        break
    m = consumer.poll(1)
    if m is None or m.error():
        continue
    read.append(deserialize(m.value(), SerializationContext(topic, MessageField.VALUE)))
consumer.close()
# The topic may have several partitions: the records come back in another order.
seen["read_back"] = sorted(read, key=lambda r: r["sensor_id"]) == written
seen["read"] = read

json_schema = {"type": "object", "properties": {"id": {"type": "string"}, "v": {"type": "number"}}, "required": ["id"]}
to_json = JSONSerializer(json.dumps(json_schema), registry)
framed = to_json({"id": "a", "v": 2.0}, SerializationContext(f"{topic}-json", MessageField.VALUE))
producer.produce(f"{topic}-json", framed)
producer.flush(10)
seen["json"] = {"magic": framed[0], "id": int.from_bytes(framed[1:5], "big"),
                "type": registry.get_latest_version(f"{topic}-json-value").schema.schema_type}
print(json.dumps(seen))
