"""A small event-sourced domain used only by the tests of the event store: counters."""
