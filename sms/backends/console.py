"""Development backend: writes each SMS to standard output, so the developer can read the code."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from sms.backends.base import BaseSmsBackend, SendResult


class SmsBackend(BaseSmsBackend):
    """Prints `[SMS to <phone>] <text>` on `stream` (default: sys.stdout). Never fails."""

    name = "console"
    _lock = threading.Lock()

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, phone: str, text: str) -> SendResult:
        """Write the message and flush, one message per line, whole even with concurrent threads."""
        with self._lock:
            self.stream.write(f"[SMS to {phone}] {text}\n")
            self.stream.flush()
        return SendResult(self.name)
