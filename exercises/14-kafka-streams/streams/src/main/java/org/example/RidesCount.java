package org.example;

import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;

/**
 * Part 1 (seed 002 §6.7, JsonKStream): count the rides per pick-up location.
 *
 * <p>Read {@link Topics#RIDES} with String keys and values, group by key, count, and write
 * the counts to {@link Topics#RIDES_COUNT} with String keys and Long values.
 */
public class RidesCount {
    public static Topology createTopology() {
        StreamsBuilder builder = new StreamsBuilder();
        // TODO: builder.stream(Topics.RIDES, Consumed.with(Serdes.String(), Serdes.String()))
        //       .groupByKey() ... .count() ... .toStream() ... .to(Topics.RIDES_COUNT, Produced.with(...));
        return builder.build();
    }

    public static void main(String[] args) throws InterruptedException {
        StreamsApp.run(createTopology(), "rides-count");
    }
}
