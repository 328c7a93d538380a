"""The policies the handlers decide with: contact rules, calls, care, the profile catalogue, the
enrichment sources and the reply wait. Loaded once from `Settings`, each on first use (a service
loads only what its handlers ask for); a test hands a handler its own by passing them in."""

from __future__ import annotations

import datetime as dt
import json
from functools import cached_property
from pathlib import Path

from shared.config.settings import Settings
from shared.domain.calls import CallPolicy
from shared.domain.care import CarePolicy
from shared.domain.contact_rules import ContactPolicy
from shared.domain.profiles import ProfileCatalogue, load_catalogue


def _json(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


class Policies:
    def __init__(self, settings: Settings | None = None, **given):
        """`given` (contact=…, calls=…, care=…, catalogue=…, enrichment=…, reply_wait=…) replace what
        the settings would load."""
        self.settings = settings if settings is not None else Settings()
        unknown = set(given) - {name for name, value in vars(Policies).items() if isinstance(value, cached_property)}
        if unknown:
            raise TypeError(f"unknown policies: {', '.join(sorted(unknown))}")
        self.__dict__.update(given)  # a cached_property reads an instance attribute first

    @cached_property
    def contact(self) -> ContactPolicy:
        path = self.settings.contact_policy
        return ContactPolicy.from_mapping(_json(path)) if path else ContactPolicy()

    @cached_property
    def calls(self) -> CallPolicy:
        return CallPolicy(self.settings.call_attempts_per_number,
                          dt.timedelta(minutes=self.settings.call_retry_spacing_minutes))

    @cached_property
    def care(self) -> CarePolicy:
        path = self.settings.care_policy
        return CarePolicy.from_mapping(_json(path)) if path else CarePolicy()

    @cached_property
    def catalogue(self) -> ProfileCatalogue:
        path = self.settings.profile_catalogue
        return load_catalogue(Path(path) if path else None)

    @cached_property
    def enrichment(self) -> list:
        from shared.enrichment import providers_from_settings

        return providers_from_settings(self.settings)

    @cached_property
    def reply_wait(self) -> dt.timedelta:
        return dt.timedelta(hours=self.settings.reply_wait_hours)
