"""Where a live capture's CaptureSession runs: in this process under a lock, or in a process of its own.

A file or the demo is decoded in this process (``SharedSession``). The sensor
over SSH can arrive at line rate, and a thread decoding 200,000 packets/s
starves the UI: each time the event loop waits for input it gives the GIL up
and then waits up to the switch interval (5 ms) to get it back, so a key
press that takes twenty turns of the loop takes 100 ms. ``SessionProcess``
sends the bytes down a pipe to a child process that owns the session; a
snapshot, the raw lines and the stream's state come back over a socket pair,
answered between slices of decoding, so a question waits for one slice at
most, never for the backlog. A full pipe blocks ``feed``: the SSH channel
then stops reading and tcpdump's kernel buffer takes the overflow, where its
drops are counted.

The child ends when the question socket closes: when the capture is closed
or collected, and also when this process dies however it dies. It runs in a
session of its own, so a Ctrl-C at the terminal reaches only us, and we end it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import weakref
from multiprocessing.connection import Connection, wait
from typing import NamedTuple, Protocol

from .aggregate import Snapshot
from .pcap import Unfinished
from .session import CaptureSession

#: bytes decoded between two looks at the question socket: about 500 packets, a millisecond
SLICE = 1 << 16
#: seconds ``close`` waits for the child to end before it is killed, and a dead child is waited for
CLOSE_TIMEOUT = 5.0
#: what the parent asks the child; "drain" is answered once the data pipe has ended and all of it is counted
SNAPSHOT, RAW, STATE, DRAIN = "snapshot", "raw", "state", "drain"


class StreamState(NamedTuple):
    """Why the stream could not be read, and what it left incomplete (``CaptureSession.error``, ``unfinished``)."""

    error: str | None = None
    unfinished: Unfinished | None = None


class Decoding(Protocol):
    """What LiveCapture needs of a session, safe to call from any thread."""

    @property
    def error(self) -> str | None: ...
    @property
    def gone(self) -> str | None: ...
    def feed(self, data: bytes) -> None: ...
    def finish(self) -> None: ...
    def snapshot(self, now: float | None = None) -> Snapshot: ...
    def raw_lines(self, n: int | None = None) -> list[str]: ...
    def unfinished(self) -> Unfinished | None: ...


class SharedSession:
    """A CaptureSession in this process, fed from one thread and read from others: every call under one lock."""

    def __init__(self, session: CaptureSession) -> None:
        self._session = session
        self._lock = threading.Lock()

    @property
    def error(self) -> str | None:
        return self._session.error

    @property
    def gone(self) -> None:
        """Decoding here cannot end before the capture."""

    def feed(self, data: bytes) -> None:
        with self._lock:
            self._session.feed(data)

    def finish(self) -> None:
        """Everything fed is already counted."""

    def snapshot(self, now: float | None = None) -> Snapshot:
        with self._lock:
            return self._session.snapshot(now)

    def raw_lines(self, n: int | None = None) -> list[str]:
        with self._lock:
            return self._session.raw_lines(n)

    def unfinished(self) -> Unfinished | None:
        with self._lock:
            return self._session.unfinished()


class DecoderGone(RuntimeError):
    """The decoding process ended before the capture did: what ``feed`` raises, so the source stops."""


class SessionProcess:
    """A CaptureSession in a child process: ``feed`` writes to it, the rest asks it.

    The child is ``python -P -m`` this module (-P: the working directory is not put on its import path) with the
    pipe and socket passed by number: not multiprocessing, which would hand its resource tracker the UI's stderr
    (Textual's stands in with fileno -1) and re-import our ``__main__``. Its stderr goes to a file, read to say
    why, should it die.
    """

    def __init__(self, port: int, flow_capacity: int, raw_capacity: int) -> None:
        data_in, data_out = os.pipe()
        questions, answers = socket.socketpair()
        self._stderr = tempfile.TemporaryFile()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-m", __name__, str(data_in), str(answers.fileno()), str(int(port)),
                 str(int(flow_capacity)), str(int(raw_capacity))],
                pass_fds=(data_in, answers.fileno()), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=self._stderr, start_new_session=True)
        except BaseException:
            for fd in (data_out, questions.detach()):
                os.close(fd)
            self._stderr.close()
            raise
        finally:
            os.close(data_in)
            answers.close()
        self._data = Connection(data_out, readable=False)
        self._questions = Connection(questions.detach())
        self._feeding = threading.Lock()
        self._asking = threading.Lock()
        self._ending = threading.Lock()
        self._closer = weakref.finalize(self, _close, self._data, self._questions, self._process, self._stderr)
        self._last = CaptureSession(port, flow_capacity, raw_capacity=0).snapshot()
        self._gone: str | None = None

    @property
    def gone(self) -> str | None:
        """Why the child ended before the capture did, or None."""
        return self._gone

    @property
    def error(self) -> str | None:
        """Why the stream could not be read, or why the child is gone; None if neither."""
        state = self._ask(STATE, default=StreamState())
        return self._gone or state.error

    def feed(self, data: bytes) -> None:
        """Raises DecoderGone if the child has ended: the source stops, and the view says why."""
        with self._feeding:
            try:
                self._data.send_bytes(data)
            except OSError:
                raise DecoderGone(self._ended()) from None

    def finish(self) -> None:
        """No more bytes: returns once the child has counted every one already fed."""
        with self._feeding:
            if not self._data.closed:
                self._data.close()
        self._ask(DRAIN, default=None)

    def snapshot(self, now: float | None = None) -> Snapshot:
        """The child's counts; once it is gone, the last it gave (``error`` says so)."""
        with self._asking:  # so that ``_last`` is the newest answer
            self._last = self._answer(SNAPSHOT, now, default=self._last)
            return self._last

    def raw_lines(self, n: int | None = None) -> list[str]:
        return self._ask(RAW, n, default=[])

    def unfinished(self) -> Unfinished | None:
        return self._ask(STATE, default=StreamState()).unfinished

    def close(self) -> None:
        """End the child (also done when this object is collected)."""
        with self._feeding, self._asking:
            self._closer()

    def _ask(self, *question, default):
        with self._asking:
            return self._answer(*question, default=default)

    def _answer(self, *question, default):
        """The child's answer, or ``default`` once it has ended. The caller holds ``_asking``."""
        if self._gone is None:
            try:
                self._questions.send(question)
                return self._questions.recv()
            except (OSError, EOFError):
                self._ended()
        return default

    def _ended(self) -> str:
        """Why the child is gone, from its exit code and the last line it wrote; kept in ``gone``."""
        with self._ending:
            if self._gone is None:
                try:
                    self._process.wait(CLOSE_TIMEOUT)
                    self._stderr.seek(0)
                    said = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
                except (subprocess.TimeoutExpired, ValueError, OSError):  # still running, or already closed
                    said = []
                why = f": {said[-1]}" if said else ""
                self._gone = (f"the decoding process ended (exit code {self._process.returncode}){why}; "
                              "the counts stopped there")
            return self._gone


def _close(data: Connection, questions: Connection, process: subprocess.Popen, stderr) -> None:
    for conn in (data, questions):
        conn.close()
    try:
        process.wait(CLOSE_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    stderr.close()


def serve(argv: list[str]) -> None:
    """The child: DATA_FD QUESTIONS_FD PORT FLOW_CAPACITY RAW_CAPACITY. Decode what arrives on the data pipe;
    answer questions between slices."""
    data, questions, port, flow_capacity, raw_capacity = map(int, argv)
    session = CaptureSession(port, flow_capacity, raw_capacity=raw_capacity)
    _Server(Connection(data, writable=False), Connection(questions), session).run()


class _Server:
    """The child's loop: bytes first (a question waits one slice at most), then questions."""

    def __init__(self, data: Connection, questions: Connection, session: CaptureSession) -> None:
        self.data = data
        self.questions = questions
        self.session = session
        self.open = True  # the data pipe has not ended
        self.draining = False  # "drain" was asked: answer it once the data pipe has ended

    def run(self) -> None:
        while True:
            if self.draining and not self.open:
                self.draining = False
                self.questions.send(self._state())
            listen = [self.data] if self.draining else [self.questions, self.data] if self.open else [self.questions]
            if self.data in wait(listen):
                self._decode()
            elif not self._answer():
                return

    def _decode(self) -> None:
        try:
            chunk = self.data.recv_bytes()
        except (EOFError, OSError):
            self.open = False
            return
        view = memoryview(chunk)
        for at in range(0, len(chunk), SLICE):
            self.session.feed(view[at:at + SLICE])
            while not self.draining and self.questions.poll():
                if not self._answer():
                    raise SystemExit(0)

    def _answer(self) -> bool:
        """Answer one question; False once this side should end (the parent closed the pipe)."""
        try:
            kind, *args = self.questions.recv()
        except (EOFError, OSError):
            return False
        if kind == DRAIN:
            self.draining = True
            return True
        if kind == SNAPSHOT:
            answer = self.session.snapshot(*args)
        elif kind == RAW:
            answer = self.session.raw_lines(*args)
        else:
            answer = self._state()
        self.questions.send(answer)
        return True

    def _state(self) -> StreamState:
        return StreamState(self.session.error, self.session.unfinished())


if __name__ == "__main__":  # the child: run from the module's own name, so what it pickles is importable here
    from vpc_mirror.steps.capture.decoding import serve as serve_child

    serve_child(sys.argv[1:])
