package org.example;

import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;

/** Runs a topology against the lab's broker until Ctrl-C. Given: nothing to change here. */
public final class StreamsApp {
    private StreamsApp() {}

    /** The settings every application of this exercise uses. */
    public static Properties props(String applicationId) {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        String brokers = System.getenv().getOrDefault("BOOTSTRAP_SERVERS", "localhost:9092");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        // Read what the topics already hold, as the seed's examples do.
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // Counts reach the output topic within a second instead of the 30 s default.
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1000);
        props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        props.put(StreamsConfig.STATE_DIR_CONFIG,
                System.getProperty("java.io.tmpdir") + "/kafka-streams-" + applicationId);
        return props;
    }

    /** Starts the topology, says when it runs, and stops it cleanly on Ctrl-C. */
    public static void run(Topology topology, String applicationId) throws InterruptedException {
        System.out.println(topology.describe());
        KafkaStreams streams = new KafkaStreams(topology, props(applicationId));
        CountDownLatch stopped = new CountDownLatch(1);
        streams.setUncaughtExceptionHandler(exception -> {
            System.err.println("the application stopped: " + exception);
            stopped.countDown();
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_APPLICATION;
        });
        streams.setStateListener((now, before) -> {
            System.out.println("state " + before + " -> " + now);
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
                stopped.countDown();
            }
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close();
            stopped.countDown();
        }));
        // The broker holds the application's state (its changelog topics); the copy on this
        // disk is a cache. A lab restarted without --data-dir starts empty while that copy
        // stays, and Kafka Streams would go on counting from it: so it is wiped, and rebuilt
        // from the broker, at every start.
        streams.cleanUp();
        streams.start();
        stopped.await();
        streams.close();
    }
}
