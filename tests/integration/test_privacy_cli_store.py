"""`careflow privacy …` against a store the services write at the same time (one SQLite file)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from shared.config.settings import Settings
from shared.operators import cli, privacy
from shared.store import migrate, session_factory
from shared.store.models import OutreachLead

pytestmark = pytest.mark.integration


class Published:
    def __init__(self):
        self.events = []

    def publish(self, event_type, **fields):
        self.events.append(event_type)

    def flush(self):
        pass


# Both read the person's data, then record the request (`withdraw` writes without reading first).
@pytest.mark.parametrize("command", ["erase", "access"])
def test_a_request_is_not_refused_when_a_service_commits_between_its_read_and_its_write(
        command, tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'careflow.db'}"
    migrate(url)
    config = Settings(DATABASE_URL=url, privacy_key="k" * 32, clock_file=None)
    monkeypatch.setattr(cli, "settings", lambda: config)
    published = Published()
    monkeypatch.setattr(cli, "_publisher", lambda: published)
    service = session_factory(url, for_writes=True)
    committed = threading.Event()

    def a_service_batch():
        with service.begin() as session:
            session.add(OutreachLead(lead_id="L-service", province_code="01"))
        committed.set()

    batch = threading.Thread(target=a_service_batch)
    resolve = privacy.resolve

    def resolve_then_let_a_service_commit(session, kind, value):
        subject = resolve(session, kind, value)  # the request's read
        batch.start()
        committed.wait(0.5)  # done at once if the request holds no write lock yet
        return subject

    monkeypatch.setattr(privacy, "resolve", resolve_then_let_a_service_commit)
    assert cli.main(["privacy", command, "--phone", "0912345678"]) == 0
    batch.join(10)
    assert committed.is_set()
    with service() as session:
        assert session.scalar(select(func.count()).select_from(OutreachLead)) == 1
    assert published.events == {"erase": ["subject-erasure-requested"], "access": []}[command]
    assert capsys.readouterr().out
