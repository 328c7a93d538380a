"""What a store-writing service keeps of each event it handled: the outputs a redelivery re-emits,
byte for byte, whatever they hold; and rows kept before their format changed still read."""

from __future__ import annotations

import json

from shared.runner import replay
from shared.service import Output

OUTPUTS = [
    Output("p.email-requested", b"mst:0101234567", bytes(range(256)) * 3),
    Output("p.sms-requested", b"", b""),
    Output("p.lead-escalated.dlq", "name:01:Bưu điện".encode(), b"\xc3\x01" + b"x" * 70_000,
           (("source_topic", b"p.lead-normalized"), ("error_type", b"ValueError"), ("reason", "lỗi".encode()),
            ("empty", b""))),
]


def test_outputs_are_kept_and_read_back_as_they_were():
    for outputs in ([], OUTPUTS[:1], OUTPUTS, OUTPUTS[::-1]):
        assert replay.unpack(replay.pack(outputs)) == outputs
    assert replay.unpack(memoryview(replay.pack(OUTPUTS))) == OUTPUTS  # as a driver may hand the column


def test_a_row_kept_in_the_earlier_format_reads_as_it_did():
    # The JSON with hex values that rows were written in before the binary format.
    earlier = json.dumps([[o.topic, o.key.hex(), o.value.hex(), [[k, v.hex()] for k, v in o.headers]]
                          for o in OUTPUTS]).encode()
    assert replay.unpack(earlier) == OUTPUTS
    assert replay.unpack(b"[]") == []


def test_the_kept_outputs_take_about_their_own_size():
    size = sum(len(o.topic) + len(o.key) + len(o.value) + sum(len(k) + len(v) for k, v in o.headers) for o in OUTPUTS)
    assert len(replay.pack(OUTPUTS)) < size + 100  # the earlier format's hex took twice as much
