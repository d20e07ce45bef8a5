package org.example;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Seed 002 §6.9: the topology tested without a broker. Run with `mvn test`. */
class RidesCountTest {
    private TopologyTestDriver driver;
    private TestInputTopic<String, String> rides;
    private TestOutputTopic<String, Long> counts;

    @BeforeEach
    void setUp() {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "rides-count-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        driver = new TopologyTestDriver(RidesCount.createTopology(), props);
        rides = driver.createInputTopic(Topics.RIDES, new StringSerializer(), new StringSerializer());
        counts = driver.createOutputTopic(Topics.RIDES_COUNT, new StringDeserializer(), new LongDeserializer());
    }

    @AfterEach
    void tearDown() {
        driver.close();
    }

    @Test
    void each_ride_updates_the_count_of_its_pickup_location() {
        rides.pipeInput("132", "{\"VendorID\": 1, \"PULocationID\": 132}");
        rides.pipeInput("48", "{\"VendorID\": 2, \"PULocationID\": 48}");
        rides.pipeInput("132", "{\"VendorID\": 2, \"PULocationID\": 132}");
        assertEquals(Map.of("132", 2L, "48", 1L), counts.readKeyValuesToMap());
    }
}
