"""The runner that drives a `Service`: the Kafka transaction loop (`loop`), one batch through the
handlers (`batch`), replay safety (`replay`), dead letters (`dead_letters`) and deadlines (`deadlines`)."""
