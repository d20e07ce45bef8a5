package org.example;

/**
 * The topics of exercise 14 (seed 002's names). In a class, set STUDENT to your name and
 * every topic is yours: {@code alice.rides}, {@code alice.rides-pulocation-count}, ...
 */
public final class Topics {
    private Topics() {}

    /** `topic` in this student's namespace (STUDENT), or as it is. */
    public static String named(String topic) {
        String student = System.getenv("STUDENT");
        return student == null || student.isBlank() ? topic : student.trim() + "." + topic;
    }

    /** Rides, keyed by their pick-up location id; values are JSON. */
    public static final String RIDES = named("rides");
    /** Per pick-up location, how many rides started there (a Long). */
    public static final String RIDES_COUNT = named("rides-pulocation-count");
    /** Locations, keyed by their id; values are JSON like {"LocationID": 132, "Zone": "JFK Airport"}. */
    public static final String LOCATIONS = named("pickup-locations");
    /** Each ride joined with a location of its key seen within ten minutes of it. */
    public static final String RIDES_WITH_ZONE = named("rides-with-zone");
}
