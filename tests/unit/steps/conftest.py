"""Step fixtures: the small in-memory lake of tests/support/month_steps.py, once per module."""

from __future__ import annotations

import pytest

from tests.support.fakes import InMemoryLake
from tests.support.month_steps import small_lake


@pytest.fixture(scope="module")
def lake() -> InMemoryLake:
    return small_lake()
