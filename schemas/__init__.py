"""The Avro schemas of careflow's events: the contract, shipped inside the installed package.

`<event>.avsc` is the current version of each event, self-contained; `history/<event>/vN.avsc`
keeps every earlier version for decoding old messages and for the compatibility check.
"""

from importlib.resources import files
from pathlib import Path

SCHEMA_DIR = Path(str(files(__name__)))
