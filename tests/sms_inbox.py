"""Reading SMS codes in tests: from the development sender's log lines, or from the local Aliyun server."""

from __future__ import annotations

import logging
import queue


class LogInbox(logging.Handler):
    """Collects the `sms_code` lines the development sender logs (from its background thread)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.lines: queue.Queue = queue.Queue()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "sms_code":
            self.lines.put(record)

    def next_code(self, phone: str, *, wait: float = 10) -> str:
        """The next code logged for `phone` (waits for the sender's thread, at most `wait` seconds)."""
        while True:
            record = self.lines.get(timeout=wait)
            if record.phone == phone:
                return record.sms_code
