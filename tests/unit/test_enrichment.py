"""Enrichment providers: a local registry file and an HTTP endpoint with timeout, retry and cache."""

import httpx
import pytest

from shared.enrichment import (CircuitBreaker, EnrichmentUnavailable, HttpRegistryProvider, RegistryFileProvider,
                               look_up)


def test_the_registry_file_knows_status_and_contacts_by_normalized_tax_code(tmp_path):
    path = tmp_path / "registry.csv"
    path.write_text("tax_code,company_name,status,address,phones,emails\n"
                    "0100 233 488,Công ty Minh An,Ngừng hoạt động,Hà Nội,,\n"
                    "0314409058,Sài Gòn Xanh,,TP.HCM,0903111222,a@sgx.vn\n"
                    "0100233489,Mã sai,active,,,\n", encoding="utf-8")
    registry = RegistryFileProvider(path)
    assert registry.lookup("0100233488").active is False
    record = registry.lookup("0314409058")
    assert (record.active, record.phones, record.emails) == (True, "0903111222", "a@sgx.vn")
    assert registry.lookup("0100233489") is None  # a bad tax code in the registry is not trusted


def _http(handler):
    calls = []

    def recorded(request):
        calls.append(request.url.path)
        return handler(request, len(calls))
    return HttpRegistryProvider("http://registry.example", transport=httpx.MockTransport(recorded)), calls


def test_http_lookups_retry_passing_failures_and_cache_answers():
    def flaky(request, n):
        if n == 1:
            raise httpx.ReadTimeout("slow", request=request)
        if n == 2:
            return httpx.Response(503)
        return httpx.Response(200, json={"company_name": "Sài Gòn Xanh", "status": "active", "phones": ["0903111222"]})
    provider, calls = _http(flaky)
    first = provider.lookup("0314409058")
    assert (first.company_name, first.phones, first.active) == ("Sài Gòn Xanh", "0903111222", True)
    assert provider.lookup("0314409058") == first
    assert calls == ["/enterprises/0314409058"] * 3  # two retries, then the cache answers


def test_http_unknown_is_none_and_a_dead_endpoint_is_an_error_not_a_guess():
    provider, _ = _http(lambda request, n: httpx.Response(404))
    assert look_up([provider], "0100233488") is None
    down, calls = _http(lambda request, n: httpx.Response(502))
    with pytest.raises(httpx.HTTPStatusError):
        down.lookup("0100233488")
    assert len(calls) == 3


def test_a_circuit_opens_on_failures_in_a_row_and_a_half_open_trial_closes_or_reopens_it():
    now, answers = [0.0], iter([502, 502, 502, 200])
    down, calls = _http(lambda request, n: httpx.Response(next(answers), json={"company_name": "Minh An"}))
    down.tries = 1
    breaker = CircuitBreaker(down, threshold=2, cool_down=30, clock=lambda: now[0])
    for _ in range(3):  # two failures open it; the third lookup fails at once, not calling the source
        with pytest.raises(EnrichmentUnavailable):
            look_up([breaker], "0100233488")
    assert len(calls) == 2
    now[0] = 31.0  # half-open: one trial, which fails and opens it again for a whole cool-down
    with pytest.raises(EnrichmentUnavailable):
        breaker.lookup("0100233488")
    now[0] = 60.0
    with pytest.raises(EnrichmentUnavailable):
        breaker.lookup("0100233488")
    assert len(calls) == 3
    now[0] = 62.0  # the next trial succeeds and closes it
    assert breaker.lookup("0100233488").company_name == "Minh An" and breaker.opened_at is None


def test_the_http_registrys_breaker_takes_its_thresholds_from_the_settings():
    from shared.config import Policies, Settings

    settings = Settings(registry_url="http://registry.invalid", registry_failures_to_open=5,
                        registry_cool_down_seconds=120)
    [breaker] = Policies(settings).enrichment
    assert isinstance(breaker, CircuitBreaker) and (breaker.threshold, breaker.cool_down) == (5, 120)
