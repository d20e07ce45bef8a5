package org.example;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;

/**
 * Exercise 10 in Kafka Streams: what ksqlDB's {@code CREATE STREAM SENSOR_ID_n AS SELECT ...
 * WHERE EXTRACTJSONFIELD(PAYLOAD, '$.sensor_id') = 'n'} does, one application for every
 * sensor. Read {@code INGESTION} and send each record to {@code SENSOR_ID_<its sensor id>}
 * (a {@code TopicNameExtractor}). The project's solution, which its tests run against the broker.
 */
public class SplitBySensor {
    /** `sensor_id` in the payload, whether the payload is JSON or a string holding JSON. */
    private static final Pattern SENSOR = Pattern.compile("sensor_id\\\\?\"\\s*:\\s*(\\d+)");

    /** The topic a sample goes to, e.g. SENSOR_ID_3; null when it names no sensor. */
    public static String topicFor(String value) {
        Matcher m = value == null ? null : SENSOR.matcher(value);
        return m != null && m.find() ? Topics.named("SENSOR_ID_" + m.group(1)) : null;
    }

    public static Topology createTopology() {
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(Topics.named("INGESTION"), Consumed.with(Serdes.String(), Serdes.String()))
                .filter((key, value) -> topicFor(value) != null)
                .to((key, value, context) -> topicFor(value), Produced.with(Serdes.String(), Serdes.String()));
        return builder.build();
    }

    public static void main(String[] args) throws InterruptedException {
        StreamsApp.run(createTopology(), "split-by-sensor");
    }
}
