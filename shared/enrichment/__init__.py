"""Enrichment sources (the seed's "information-scanning software"): look an enterprise up by its
tax code. Pluggable: a local registry file, an HTTP endpoint, or both in order."""

from __future__ import annotations

import csv
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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


def _joined(value) -> str | None:
    return ";".join(value) if isinstance(value, list) else value


def providers_from_settings(registry_file: str | None, registry_url: str | None) -> list[EnrichmentProvider]:
    providers: list[EnrichmentProvider] = []
    if registry_file:
        providers.append(RegistryFileProvider(Path(registry_file)))
    if registry_url:
        providers.append(HttpRegistryProvider(registry_url))
    return providers


def look_up(providers: list[EnrichmentProvider], tax_code: str | None) -> EnterpriseRecord | None:
    """The first provider that knows the enterprise answers."""
    if not tax_code:
        return None
    return next((r for p in providers if (r := p.lookup(tax_code)) is not None), None)
