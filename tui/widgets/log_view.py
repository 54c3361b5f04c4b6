"""The engine's log lines, from any thread, written to the screen in batches at a fixed rate."""

from __future__ import annotations

import threading

from textual.widgets import Log

FLUSH_SECONDS = 0.1


class BatchedLog(Log):
    """``add`` is thread-safe and cheap; a timer writes what arrived since the last tick in one go."""

    DEFAULT_CSS = "BatchedLog { height: 1fr; min-height: 3; border-top: hkey $primary-background; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=5000, auto_scroll=True)
        self._pending: list[str] = []
        self._lock = threading.Lock()

    def on_mount(self) -> None:
        self.set_interval(FLUSH_SECONDS, self.flush)

    def add(self, line: str) -> None:
        with self._lock:
            self._pending.append(line)

    def flush(self) -> None:
        with self._lock:
            lines, self._pending = self._pending, []
        if lines:
            self.write_lines(lines)
