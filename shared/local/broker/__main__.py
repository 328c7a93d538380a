"""`python -m shared.local.broker [--nodes 3] [--data DIR]`: run the local broker (or a cluster) until
Ctrl-C, for poking at it by hand."""

import argparse
import signal
import sys
from pathlib import Path

from shared.local.broker import KafkaBroker

parser = argparse.ArgumentParser(prog="python -m shared.local.broker")
parser.add_argument("--nodes", type=int, default=1, help="KRaft nodes (combined broker-controllers); 3 for RF 3")
parser.add_argument("--data", type=Path, help="keep the data in this folder (formatted once); a temporary one otherwise")
args = parser.parse_args()
with KafkaBroker(args.data, nodes=args.nodes) as broker:
    print(f"broker at {broker.bootstrap}, started in {broker.start_seconds:.1f} s; Ctrl-C stops it", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
