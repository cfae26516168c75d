"""waterbill.tasks: work handed over after a response runs off the caller's thread, with its logging context."""

from __future__ import annotations

import logging
import threading

import pytest

from waterbill.logging import _request_id
from waterbill.tasks import run_after_response


def test_a_task_runs_on_the_pool_with_the_requests_id(settings: object) -> None:
    settings.AFTER_RESPONSE_INLINE = False  # type: ignore[attr-defined]
    ran = threading.Event()
    seen: dict[str, object] = {}

    def task() -> None:
        seen["thread"] = threading.current_thread().name
        seen["request_id"] = _request_id.get()
        ran.set()

    token = _request_id.set("req-77")
    try:
        run_after_response(task)
    finally:
        _request_id.reset(token)
    assert ran.wait(5)
    assert str(seen["thread"]).startswith("after-response")
    assert seen["request_id"] == "req-77"


def test_a_failing_task_is_logged_not_raised(settings: object, caplog: pytest.LogCaptureFixture) -> None:
    settings.AFTER_RESPONSE_INLINE = True  # type: ignore[attr-defined]

    def task() -> None:
        raise RuntimeError("provider bug")

    with caplog.at_level(logging.ERROR, logger="waterbill.tasks"):
        run_after_response(task)
    assert [r.getMessage() for r in caplog.records] == ["A task run after the response failed"]
