"""Shared fixtures: the real Asterisk test bed and the Vosk model.

Tests under ``tests/integration`` are marked ``integration`` automatically.
They run against a real Asterisk 22 in a chroot and the real Vosk model; when
either cannot be set up the test errors with the reason (and Asterisk's log
tail), it is never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from careroute.errors import CareRouteError
from careroute.testbed import Testbed, ensure_root


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def testbed() -> Iterator[Testbed]:
    """A running test-bed Asterisk for the whole session."""
    try:
        bed = Testbed(ensure_root(progress=lambda message: None))
        bed.start()
    except CareRouteError as exc:
        pytest.fail(f"the Asterisk test bed did not start: {exc}", pytrace=False)
    yield bed
    bed.stop()


@pytest.fixture(scope="session")
def vosk_model_dir() -> Path:
    """The cached Vosk model folder, fetched on first use."""
    from careroute.model_fetch import ensure_model

    try:
        return ensure_model(progress=lambda message: None)
    except CareRouteError as exc:
        pytest.fail(f"the Vosk model is not available: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def asterisk(testbed: Testbed) -> Testbed:
    """Alias of ``testbed`` for tests that read like ARI client tests."""
    return testbed
