"""careflow's consumer services, one folder each: `services/<folder>/handler.py` defines `SERVICE`.

A service has one name, in `REGISTRY`; everything else derives from it: the folder (the name with
`_` for `-`), the CLI name (`careflow service NAME`), the consumer group and the transactional ids
(prefixed by CAREFLOW_TOPIC_PREFIX), the metrics label, the docker-compose service and the log file
of `careflow up`.
"""

from __future__ import annotations

import importlib

from shared.service import Service

REGISTRY: tuple[str, ...] = (
    "normalizer", "segmenter", "replies", "calls", "escalations", "lead-ledger", "care-cases",
    "subscriber-directory", "eligibility", "profile-updater", "profile-ledger", "privacy",
)


def folder_of(name: str) -> str:
    return name.replace("-", "_")


def load(name: str) -> Service:
    """The service registered under `name`."""
    if name not in REGISTRY:
        raise LookupError(f"no service {name!r}; careflow's services are: {', '.join(REGISTRY)}")
    service = importlib.import_module(f"services.{folder_of(name)}.handler").SERVICE
    if service.name != name:
        raise LookupError(f"services/{folder_of(name)} defines service {service.name!r}, registered as {name!r}")
    return service
