"""Work that must not show in an answer's timing, run on a small per-process thread pool after the response."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections

from waterbill.server import AFTER_RESPONSE_THREADS

logger = logging.getLogger(__name__)

# Two threads per process (counted in the database pool's size): the work handed here is an SMS send per
# password-reset request, already bounded by the reset throttle, and at most one resend per code after an
# undelivered receipt (users.services.redelivery); a provider that hangs makes the queue wait, never a request.
_pool = ThreadPoolExecutor(max_workers=AFTER_RESPONSE_THREADS, thread_name_prefix="after-response")


def run_after_response(task: Callable[[], None]) -> None:
    """Run `task` off the request's thread, on the pool, with the request's logging context (its request id).

    With settings.AFTER_RESPONSE_INLINE (the test overlay) it runs here and now instead, so that tests see its
    effects on their own database transaction. A task's exception is logged, never raised. A task still
    queued when the process stops is lost: hand here only what the caller may lose (its user can ask again).
    """
    if getattr(settings, "AFTER_RESPONSE_INLINE", False):
        _run(task)
        return
    context = contextvars.copy_context()
    _pool.submit(context.run, _run_with_connection, task)


def _run_with_connection(task: Callable[[], None]) -> None:
    close_old_connections()  # this pool thread's connection, as a request's would be
    try:
        _run(task)
    finally:
        close_old_connections()


def _run(task: Callable[[], None]) -> None:
    try:
        task()
    except Exception:
        logger.exception("A task run after the response failed")
