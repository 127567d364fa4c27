"""The simulator's packaged recordings are the lab's, byte for byte (it builds every frame from them)."""

from __future__ import annotations

from importlib import resources

import pytest

from cti.simulator.transcript import packaged
from tests.recordings import FIXTURES, records

PACKAGED = sorted(
    entry.name
    for entry in resources.files("cti.simulator.recordings").iterdir()
    if entry.name.endswith(".txt")
)


def test_the_simulator_packages_the_recordings_it_is_built_from() -> None:
    assert {"ami_a_login.txt", "ami_b_inbound_answered.txt", "agi_4_ivr_to_queue.txt"} <= set(PACKAGED)


@pytest.mark.parametrize("name", PACKAGED)
def test_a_packaged_recording_is_the_labs_file(name: str) -> None:
    packaged_bytes = resources.files("cti.simulator.recordings").joinpath(name).read_bytes()
    assert packaged_bytes == (FIXTURES / name).read_bytes()
    assert packaged(name) == records(name)
