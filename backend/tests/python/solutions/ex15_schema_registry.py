"""Exercise 15 from its README: confluent-kafka's SchemaRegistryClient and AvroSerializer
against the lab's Schema Registry, with its defaults.

  --registry URL   the registry (the README's http://127.0.0.1:8081)
  --token TOKEN    a class token, sent as confluent-kafka sends credentials (basic auth)

Mistakes (each fails one condition):
  wrong-fields       the first schema calls the reading `reading`, not `value`
  no-default         compatibility set to NONE to force a field without a default in, then
                     set back: version 2 cannot read version 1
  v1-only            version 2 registered, but every reading produced with version 1
  compatible-answer  the answer is version 2, a schema the registry accepts
"""
from student import BOOTSTRAP, T, args, extra, say
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

url = extra[extra.index("--registry") + 1]
settings = {"url": url}
if "--token" in extra:
    settings["basic.auth.user.info"] = f"{args.student}:{extra[extra.index('--token') + 1]}"
registry = SchemaRegistryClient(settings)
producer = Producer({"bootstrap.servers": BOOTSTRAP})
TOPIC = T("sensor_readings")
SUBJECT = f"{TOPIC}-value"
mistake = args.mistake

V1 = """{"type": "record", "name": "SensorReading", "namespace": "streamlab.sensors",
         "fields": [{"name": "sensor_id", "type": "int"},
                    {"name": "value", "type": "double"}]}"""
if mistake == "wrong-fields":
    V1 = V1.replace('"name": "value"', '"name": "reading"')
VALUE = "reading" if mistake == "wrong-fields" else "value"


def produce(schema, readings):
    serialize = AvroSerializer(registry, schema)
    for r in readings:
        value = serialize(r, SerializationContext(TOPIC, MessageField.VALUE))
        producer.produce(TOPIC, key=str(r["sensor_id"]), value=value)
    producer.flush()


produce(V1, [{"sensor_id": i % 3, VALUE: 20.0 + i} for i in range(5)])
say("subjects", registry.get_subjects())

# Step 2: a field with a default.
V2 = V1.replace(f'{{"name": "{VALUE}", "type": "double"}}',
                f'{{"name": "{VALUE}", "type": "double"}}, '
                '{"name": "unit", "type": "string", "default": "celsius"}')
if mistake == "no-default":
    V2 = V2.replace(', "default": "celsius"', "")
    registry.set_compatibility(SUBJECT, "NONE")
    registry.register_schema(SUBJECT, Schema(V2, "AVRO"))
    registry.set_compatibility(SUBJECT, "BACKWARD")
else:
    assert registry.test_compatibility(SUBJECT, Schema(V2, "AVRO")), "a field with a default is compatible"
later = [{"sensor_id": i % 3, VALUE: 20.0 + i, "unit": "kelvin"} for i in range(5, 10)]
if mistake == "v1-only":
    registry.register_schema(SUBJECT, Schema(V2, "AVRO"))
    produce(V1, [{k: v for k, v in r.items() if k != "unit"} for r in later])
else:
    produce(V2, later)
say("versions", registry.get_versions(SUBJECT))

# Step 3: a field without a default, refused.
end = V2.rindex("]")
BAD = V2[:end] + ', {"name": "location", "type": "string"}' + V2[end:]
try:
    registry.register_schema(SUBJECT, Schema(BAD, "AVRO"))
    raise AssertionError("the registry took a field without a default")
except SchemaRegistryError as e:
    say("refused", e.http_status_code, e.error_code, e.error_message)
    assert e.http_status_code == 409 and e.error_code == 409, e
    assert "location" in e.error_message and "READER_FIELD_MISSING_DEFAULT_VALUE" in e.error_message, e
answer = V2 if mistake == "compatible-answer" else BAD
producer.produce(T("registry_answers"), key="incompatible_schema", value=answer)
producer.flush()

# Step 4: everything read back with the registry's schemas.
# With version 2 as the reader's schema, version 1's readings take unit's default (a
# mistake's own version 2 may not read them: those read with each record's own schema).
deserialize = AvroDeserializer(registry, None if mistake else V2)
consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": T("readings"), "auto.offset.reset": "earliest"})
consumer.subscribe([TOPIC])
read = []
while len(read) < 10:
    m = consumer.poll(10)
    assert m is not None, f"read {len(read)} of 10 readings"
    if m.error():
        continue
    read.append(deserialize(m.value(), SerializationContext(m.topic(), MessageField.VALUE)))
consumer.close()
say("read", len(read), "units", sorted({r.get("unit", "(none)") for r in read}))
if mistake is None:
    assert sorted(r["unit"] for r in read) == ["celsius"] * 5 + ["kelvin"] * 5, read
