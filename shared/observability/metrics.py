"""Prometheus metrics shared by every service; exposed when CAREFLOW_METRICS_PORT is set."""

from prometheus_client import Counter, Gauge, Histogram

CONSUMED = Counter("careflow_events_consumed_total", "Events consumed, counted when their transaction commits", ["service", "topic"])
PRODUCED = Counter("careflow_events_produced_total", "Events produced, counted when their transaction commits", ["service", "topic"])
DEAD_LETTERED = Counter("careflow_events_dead_lettered_total", "Events sent to a dead-letter topic",
                        ["service", "topic", "error"])
HANDLER_SECONDS = Histogram("careflow_handler_seconds", "Handler latency per event", ["service", "topic"],
                            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5))
LAG = Gauge("careflow_consumer_lag", "Messages behind the end of the partition", ["service", "topic", "partition"])
DEADLINES_FIRED = Counter("careflow_deadlines_fired_total", "Deadlines fired", ["service", "kind"])
SUPPRESSED = Counter("careflow_events_suppressed_total", "Events not processed: they name an erased data subject",
                     ["service", "topic"])
LIFECYCLE_REFUSED = Counter("careflow_lifecycle_refused_total", "Moves a lead's lifecycle refused (not applied)",
                            ["service", "happening", "stage"])
