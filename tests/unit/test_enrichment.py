"""Enrichment providers: a local registry file and an HTTP endpoint with timeout, retry and cache."""

import httpx
import pytest

from shared.enrichment import HttpRegistryProvider, RegistryFileProvider, look_up


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
