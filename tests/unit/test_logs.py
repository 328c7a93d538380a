import json
import logging

import pytest

from shared.observability.logs import configure_logging, redact


@pytest.mark.parametrize("text, hidden", [
    ("calling +84912345678 now", "912345678"),
    ("số 0912 345 678 không nghe máy", "345 678"),
    ("landline 024.3825.1234", "3825"),
    ("reply from nguyen.van.a@congty.com.vn", "nguyen.van.a"),
])
def test_phone_numbers_and_emails_never_appear_in_clear(text, hidden):
    assert hidden not in redact(text)


def test_redaction_keeps_enough_to_tell_records_apart():
    assert redact("+84912345678") == "+849***78"
    assert redact("ketoan@congty.vn") == "k***@congty.vn"


def test_a_lead_id_stays_readable_and_a_number_beside_it_does_not():
    assert redact("lead mst:0300000018 called 0912345678") == "lead mst:0300000018 called 091***78"


def test_ordinary_numbers_stay_readable():
    assert redact("batch of 500 events, partition 3, offset 1234") == "batch of 500 events, partition 3, offset 1234"


def test_log_records_are_json_and_redacted_including_extra_fields(capsys):
    configure_logging("INFO", "segmenter")
    logging.getLogger("careflow.test").info("sms to %s", "0912345678", extra={"to": "ketoan@congty.vn"})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["service"] == "segmenter" and record["level"] == "INFO"
    assert "0912345678" not in line and "ketoan@" not in line
    assert record["message"].startswith("sms to 091***78")
