"""`python -m shared.broker`: run the local broker until Ctrl-C (for poking at it by hand)."""

import signal
import sys

from shared.local.broker import KafkaBroker

with KafkaBroker() as broker:
    print(f"broker at {broker.bootstrap}, started in {broker.start_seconds:.1f} s; Ctrl-C stops it", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
