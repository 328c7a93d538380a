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
