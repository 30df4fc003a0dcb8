"""A weight stored before imports refused bad ones (issue 11, finding 8): an infinite or NaN
weight is refused when the ledger is loaded for ranking, with a logged warning, so the HTML
ranking never shows NaN and nobody is ranked first by it."""

from __future__ import annotations

import logging
import math
import re

import pytest
from sqlalchemy import select

from bot.runtime import Runtime
from models import KeyWork, Task
from schedules.board import load_facts
from tests.conftest import County
from tests.test_hostile_input import logged_in

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"])


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_a_stored_weight_that_is_not_finite_never_reaches_the_ranking(
    rt: Runtime, county: County, caplog: pytest.LogCaptureFixture, bad: float, backend: str
) -> None:
    if math.isnan(bad) and backend == "sqlite":
        pytest.skip("SQLite stores a NaN as NULL: it cannot hold one")
    with rt.sessions() as s:
        for task in s.scalars(select(Task)):
            task.weight = bad
        for work in s.scalars(select(KeyWork)):
            work.weight = bad
        s.commit()
    with caplog.at_level(logging.WARNING, logger="schedules.board"):
        html = logged_in(rt).get("/rankings").get_data(as_text=True)
    assert "排名" in html
    assert re.search(r"\b(nan|inf|infinity)\b", html, re.IGNORECASE) is None
    assert "stored weight" in caplog.text and "of task #" in caplog.text
    with rt.sessions() as s:
        facts = load_facts(s, rt.tz)
    assert facts and all(math.isfinite(f.weight) and math.isfinite(f.work_weight) for f in facts)
