"""Enrichment sources (the seed's "information-scanning software"): look an enterprise up by its
tax code. Pluggable: a local registry file, an HTTP endpoint, or both in order."""

from __future__ import annotations

import csv
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import httpx

from shared.domain.tax_codes import normalize_tax_code

log = logging.getLogger("careflow.enrichment")


@dataclass(frozen=True)
class EnterpriseRecord:
    tax_code: str
    company_name: str | None
    active: bool
    address: str | None
    phones: str | None
    emails: str | None
    source: str


class EnrichmentProvider(Protocol):
    name: str

    def lookup(self, tax_code: str) -> EnterpriseRecord | None: ...


class RegistryFileProvider:
    """A local registry export: CSV with tax_code, company_name, status, address, phones, emails.
    `status` is active unless it says otherwise (inactive, dissolved, suspended, ngừng hoạt động...)."""

    INACTIVE = {"inactive", "dissolved", "suspended", "closed", "ngừng hoạt động", "giải thể", "tạm ngừng"}

    def __init__(self, path: Path):
        self.name = f"registry:{Path(path).name}"
        self.records: dict[str, EnterpriseRecord] = {}
        with open(path, newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                tax_code, valid = normalize_tax_code(row.get("tax_code"))
                if tax_code and valid:
                    self.records[tax_code] = EnterpriseRecord(
                        tax_code, row.get("company_name") or None,
                        (row.get("status") or "active").strip().lower() not in self.INACTIVE,
                        row.get("address") or None, row.get("phones") or None, row.get("emails") or None, self.name)

    def lookup(self, tax_code: str) -> EnterpriseRecord | None:
        return self.records.get(tax_code)


class HttpRegistryProvider:
    """GET {base_url}/enterprises/{tax_code}: 200 with a JSON record, 404 when unknown.

    A timeout per request, retries with backoff on timeouts and 5xx, and an LRU cache, since one
    list names the same enterprise many times and re-imports repeat whole lists."""

    def __init__(self, base_url: str, timeout: float = 2.0, tries: int = 3, cache_size: int = 100_000,
                 transport: httpx.BaseTransport | None = None):
        self.name = f"http:{base_url}"
        self.client = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        self.tries = tries
        self.cache: OrderedDict[str, EnterpriseRecord | None] = OrderedDict()
        self.cache_size = cache_size

    def lookup(self, tax_code: str) -> EnterpriseRecord | None:
        if tax_code in self.cache:
            self.cache.move_to_end(tax_code)
            return self.cache[tax_code]
        record = self._fetch(tax_code)
        self.cache[tax_code] = record
        if len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return record

    def _fetch(self, tax_code: str) -> EnterpriseRecord | None:
        for attempt in range(1, self.tries + 1):
            try:
                response = self.client.get(f"/enterprises/{tax_code}")
                if response.status_code == 404:
                    return None
                response.raise_for_status()
                body = response.json()
                return EnterpriseRecord(tax_code, body.get("company_name"), body.get("status", "active") == "active",
                                        body.get("address"), _joined(body.get("phones")), _joined(body.get("emails")),
                                        self.name)
            except (httpx.TimeoutException, httpx.TransportError, httpx.HTTPStatusError) as exc:
                if isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code < 500:
                    raise
                if attempt == self.tries:
                    raise
                log.warning("enrichment lookup failed, retrying", extra={"attempt": attempt, "error": repr(exc)})
                time.sleep(0.1 * 2 ** attempt)
        raise AssertionError("unreachable")


# The deadline kind, and the `lead-imported` source, of a lead looked up again after an outage.
RETRY = "enrichment_retry"


class EnrichmentUnavailable(Exception):
    """A source could not answer (its circuit is open, or the call failed): the lead goes on
    unenriched, marked pending, and is looked up again later."""


class CircuitBreaker:
    """Wraps a provider: `threshold` failures in a row open the circuit for `cool_down` seconds, in
    which lookups fail at once (no timeouts, no retry sleeps: an outage does not stall the batch);
    after it one trial goes through (half-open): a success closes the circuit, a failure opens it again."""

    def __init__(self, provider: EnrichmentProvider, threshold: int = 3, cool_down: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        self.provider, self.name = provider, provider.name
        self.threshold, self.cool_down, self.clock = threshold, cool_down, clock
        self.failures, self.opened_at = 0, None

    def lookup(self, tax_code: str) -> EnterpriseRecord | None:
        if self.opened_at is not None and self.clock() - self.opened_at < self.cool_down:
            raise EnrichmentUnavailable(f"{self.name}: circuit open")
        try:
            record = self.provider.lookup(tax_code)
        except Exception as exc:
            self.failures += 1
            if self.opened_at is not None or self.failures >= self.threshold:
                if self.opened_at is None:
                    log.warning("enrichment source down, circuit opened", extra={"source": self.name})
                self.opened_at = self.clock()
            raise EnrichmentUnavailable(f"{self.name}: {type(exc).__name__}") from exc
        if self.opened_at is not None:
            log.warning("enrichment source back, circuit closed", extra={"source": self.name})
        self.failures, self.opened_at = 0, None
        return record


def _joined(value) -> str | None:
    return ";".join(value) if isinstance(value, list) else value


def providers_from_settings(settings) -> list[EnrichmentProvider]:
    """The sources `Settings` names: the registry file, then the HTTP registry behind its circuit breaker."""
    providers: list[EnrichmentProvider] = []
    if settings.registry_file:
        providers.append(RegistryFileProvider(Path(settings.registry_file)))
    if settings.registry_url:
        providers.append(CircuitBreaker(HttpRegistryProvider(settings.registry_url),
                                        settings.registry_failures_to_open, settings.registry_cool_down_seconds))
    return providers


def look_up(providers: list[EnrichmentProvider], tax_code: str | None) -> EnterpriseRecord | None:
    """The first provider that knows the enterprise answers; EnrichmentUnavailable when none does
    and one of them could not answer."""
    if not tax_code:
        return None
    unavailable = None
    for provider in providers:
        try:
            if (record := provider.lookup(tax_code)) is not None:
                return record
        except EnrichmentUnavailable as exc:
            unavailable = exc
    if unavailable is not None:
        raise unavailable
    return None
