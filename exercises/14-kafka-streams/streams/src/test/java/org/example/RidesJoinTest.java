package org.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Seed 002 §6.9 for the join: what joins within the window, and what does not. */
class RidesJoinTest {
    private static final Instant T0 = Instant.parse("2026-01-01T10:00:00Z");
    private TopologyTestDriver driver;
    private TestInputTopic<String, String> rides;
    private TestInputTopic<String, String> locations;
    private TestOutputTopic<String, String> joined;

    @BeforeEach
    void setUp() {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "rides-join-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        driver = new TopologyTestDriver(RidesJoin.createTopology(), props);
        StringSerializer s = new StringSerializer();
        rides = driver.createInputTopic(Topics.RIDES, s, s);
        locations = driver.createInputTopic(Topics.LOCATIONS, s, s);
        joined = driver.createOutputTopic(Topics.RIDES_WITH_ZONE, new StringDeserializer(), new StringDeserializer());
    }

    @AfterEach
    void tearDown() {
        driver.close();
    }

    @Test
    void a_ride_and_a_location_of_its_key_within_the_window_are_joined() {
        String ride = "{\"VendorID\": 1, \"PULocationID\": 132}";
        String jfk = "{\"LocationID\": 132, \"Zone\": \"JFK Airport\"}";
        rides.pipeInput("132", ride, T0);
        locations.pipeInput("132", jfk, T0.plus(Duration.ofMinutes(3)));
        List<KeyValue<String, String>> out = joined.readKeyValuesToList();
        assertEquals(List.of(KeyValue.pair("132", RidesJoin.joined(ride, jfk))), out);
    }

    @Test
    void what_is_too_far_apart_or_of_another_key_is_not_joined() {
        rides.pipeInput("132", "{\"VendorID\": 1}", T0);
        locations.pipeInput("48", "{\"LocationID\": 48}", T0.plus(Duration.ofMinutes(1)));
        locations.pipeInput("132", "{\"LocationID\": 132}", T0.plus(Duration.ofMinutes(11)));
        assertTrue(joined.isEmpty(), "nothing joins: another key, or eleven minutes apart");
    }
}
