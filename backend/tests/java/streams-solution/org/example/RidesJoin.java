package org.example;

import java.time.Duration;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.StreamJoined;

/**
 * Part 2 (seed 002 §6.8, JsonKStreamJoins): join each ride with the locations of its key. The
 * project's solution, which its tests run against the broker.
 *
 * <p>Read {@link Topics#RIDES} and {@link Topics#LOCATIONS} (String keys and values), join
 * them on their keys within {@link #WINDOW} of each other, and write to {@link
 * Topics#RIDES_WITH_ZONE} the value {@code {"ride": <the ride>, "location": <the location>}}
 * (see {@link #joined}). Both topics must have the same number of partitions.
 */
public class RidesJoin {
    public static final Duration WINDOW = Duration.ofMinutes(10);

    /** The output of one ride and one location: their JSON side by side. */
    public static String joined(String ride, String location) {
        return "{\"ride\": " + ride + ", \"location\": " + location + "}";
    }

    public static Topology createTopology() {
        StreamsBuilder builder = new StreamsBuilder();
        KStream<String, String> rides = builder.stream(Topics.RIDES, Consumed.with(Serdes.String(), Serdes.String()));
        KStream<String, String> locations =
                builder.stream(Topics.LOCATIONS, Consumed.with(Serdes.String(), Serdes.String()));
        rides.join(
                        locations,
                        RidesJoin::joined,
                        JoinWindows.ofTimeDifferenceWithNoGrace(WINDOW),
                        StreamJoined.with(Serdes.String(), Serdes.String(), Serdes.String()))
                .to(Topics.RIDES_WITH_ZONE, Produced.with(Serdes.String(), Serdes.String()));
        return builder.build();
    }

    public static void main(String[] args) throws InterruptedException {
        StreamsApp.run(createTopology(), "rides-join");
    }
}
