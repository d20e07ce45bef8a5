package org.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Properties;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Exercise 10's split, tested without a broker. */
class SplitBySensorTest {
    private TopologyTestDriver driver;
    private TestInputTopic<String, String> ingestion;

    @BeforeEach
    void setUp() {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "split-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        driver = new TopologyTestDriver(SplitBySensor.createTopology(), props);
        ingestion = driver.createInputTopic(Topics.named("INGESTION"), new StringSerializer(), new StringSerializer());
    }

    @AfterEach
    void tearDown() {
        driver.close();
    }

    private String read(int sensor) {
        var out = driver.createOutputTopic(
                Topics.named("SENSOR_ID_" + sensor), new StringDeserializer(), new StringDeserializer());
        return out.isEmpty() ? null : out.readValue();
    }

    @Test
    void each_sample_goes_to_its_sensors_topic_whether_its_payload_is_json_or_a_string() {
        String json = "{\"payload\": {\"sensor_id\": 3, \"modality\": 421}, \"correlation_id\": \"a\"}";
        String text = "{\"payload\": \"{\\\"sensor_id\\\": 5, \\\"modality\\\": 7}\", \"correlation_id\": \"b\"}";
        ingestion.pipeInput("k", json);
        ingestion.pipeInput("k", text);
        ingestion.pipeInput("k", "{\"payload\": {}}");
        assertEquals(json, read(3));
        assertEquals(text, read(5));
        assertTrue(read(1) == null, "a sample without a sensor goes nowhere");
    }
}
