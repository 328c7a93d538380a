"""Event ids: a new event's is a UUIDv7 (ordered by time); a follow-on event's derives from its cause and
position (the same in every replay), keeping a time-ordered cause's time. Computed without the UUID object."""

import random
import time
import uuid

from shared.contract.envelope import new_event_id
from shared.service import _EVENT_IDS, derived_event_id


def _time_ms(text: str) -> int:
    return uuid.UUID(text).int >> 80


def test_a_new_event_id_is_a_uuid7_of_the_time_it_was_made_in_its_usual_text():
    before = time.time_ns() // 1_000_000
    ids = [new_event_id() for _ in range(20_000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (7, uuid.RFC_4122, text)
        assert before <= _time_ms(text) <= after
    # Made in a later millisecond, it sorts later; the random digits take every value at every random position.
    assert all(a < b for a, b in zip(ids, ids[1:]) if _time_ms(a) < _time_ms(b))
    assert all(len({text[i] for text in ids}) == 16 for i in range(15, 36) if i not in (18, 19, 23))


def test_a_follow_on_of_a_cause_whose_id_is_not_time_ordered_has_the_uuid5_of_cause_and_position():
    rng = random.Random(7)
    causes = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(5000)]
    causes += ["", "reply-wait:mst:0101234567", "Bưu chính", "x" * 300, "deadline:0189abcd-ef01-7abc-8000-000"]
    for cause in causes:
        position = rng.randrange(5)
        assert derived_event_id(cause, position) == str(uuid.uuid5(_EVENT_IDS, f"{cause}/{position}"))


def test_a_follow_on_of_a_time_ordered_cause_keeps_its_time_and_sorts_with_it():
    causes = []
    for _ in range(3):
        causes.append(new_event_id())
        time.sleep(0.002)
    derived = [[derived_event_id(cause, position) for position in range(3)] for cause in causes]
    for cause, ids in zip(causes, derived):
        assert len(set(ids)) == 3 and ids == [derived_event_id(cause, position) for position in range(3)]  # a replay's
        for text in ids:
            parsed = uuid.UUID(text)
            assert (parsed.version, parsed.variant, str(parsed)) == (8, uuid.RFC_4122, text)
            assert _time_ms(text) == _time_ms(cause)
        # A follow-on's follow-on keeps it too.
        assert _time_ms(derived_event_id(ids[0], 0)) == _time_ms(cause)
    assert max(derived[0]) < min(derived[1]) and max(derived[1]) < min(derived[2])
