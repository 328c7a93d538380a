"""One name per service: the registry, the folders, the CLI, the consumer groups."""

from __future__ import annotations

from pathlib import Path

import pytest

import services
from shared.config import Settings
from shared.operators.cli import load_service
from shared.runner.batch import BatchHandler

SERVICES_DIR = Path(services.__file__).parent
# The consumer groups deployed systems have committed offsets under: renaming one would make its
# service start over from the earliest offset, so the names stay.
DEPLOYED_GROUPS = {"normalizer", "segmenter", "replies", "calls", "escalations", "lead-ledger", "care-cases",
                   "subscriber-directory", "eligibility", "profile-updater", "profile-ledger", "privacy"}


def test_every_service_folder_is_registered_and_every_registered_service_has_its_folder():
    folders = {p.parent.name for p in SERVICES_DIR.glob("*/handler.py")}
    assert folders == {services.folder_of(name) for name in services.REGISTRY}


@pytest.mark.parametrize("name", services.REGISTRY)
def test_the_cli_name_loads_the_service_of_that_name(name):
    assert load_service(name).name == name


@pytest.mark.parametrize("name", services.REGISTRY)
def test_the_consumer_group_derives_from_the_name(name):
    settings = Settings(topic_prefix="prod.", instance_id="host-1")
    assert BatchHandler(services.load(name), settings, None, None, None).group == f"prod.{name}"


def test_deployed_consumer_groups_keep_their_names():
    assert set(services.REGISTRY) == DEPLOYED_GROUPS


def test_an_unknown_service_name_is_refused_with_the_list_of_names():
    with pytest.raises(SystemExit, match="care-cases"):
        load_service("care_cases")
