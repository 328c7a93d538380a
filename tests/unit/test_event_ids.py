"""A follow-on event's id: uuid5 of its cause and position, computed without the UUID object."""

import random
import uuid

from shared.service import _EVENT_IDS, derived_event_id


def test_a_derived_event_id_is_the_uuid5_of_its_name():
    rng = random.Random(7)
    names = [f"{uuid.UUID(int=rng.getrandbits(128))}/{rng.randrange(5)}" for _ in range(5000)]
    names += ["", "/0", "Bưu chính/1", "x" * 300]
    for name in names:
        assert derived_event_id(name) == str(uuid.uuid5(_EVENT_IDS, name))


def test_a_new_event_id_is_a_random_uuid4_in_its_usual_text():
    from shared.contract.envelope import new_event_id
    ids = [new_event_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)
    # Every hex digit of the random ones occurs at every random position: nothing is fixed but version and variant.
    assert all(len({text[i] for text in ids}) == 16 for i in range(36) if i not in (8, 13, 14, 18, 19, 23))
