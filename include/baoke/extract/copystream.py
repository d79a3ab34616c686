"""``COPY ... FROM STDIN`` fed while the rows are still being produced.

psycopg2's ``copy_expert`` pulls its input from a file object. Handing it a spool file
after extraction means the server parses nothing until Python has finished, and on a
2-core machine one core idles half the time. ``CopyStream`` runs the COPY in a helper
thread that reads from a small bounded queue the extractor writes into: Python checks
and formats the next rows while PostgreSQL parses and indexes the previous ones, and
memory stays bounded (the queue holds at most a few MB).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import Any

CHUNK_BYTES = 256 * 1024
QUEUE_CHUNKS = 16
_END = b""


class CopyAborted(Exception):
    """Raised inside the COPY to make the server discard what it received."""


class CopyStream:
    """A write-only stream into ``COPY <sql> FROM STDIN`` on ``conn`` (in its transaction)."""

    def __init__(self, conn: Any, sql: str) -> None:
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._copy, args=(conn, sql), name="copy-stream", daemon=True)
        self._thread.start()

    def _copy(self, conn: Any, sql: str) -> None:
        try:
            with conn.cursor() as cur:
                cur.copy_expert(sql, self, size=CHUNK_BYTES)
        except BaseException as exc:  # handed to the producer thread
            self._error = exc

    def read(self, size: int = -1) -> bytes:
        """Called by psycopg2 in the COPY thread: the next chunk (b"" ends the COPY)."""
        chunk = self._queue.get()
        if chunk is None:
            raise CopyAborted("batch abandoned")
        return chunk

    def write(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= CHUNK_BYTES:
            self._put(b"".join(self._pending))
            self._pending, self._pending_size = [], 0

    def _put(self, chunk: bytes | None) -> None:
        while True:
            if self._error is not None:
                raise self._error
            try:
                self._queue.put(chunk, timeout=0.2)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    raise self._error or RuntimeError("the COPY stopped reading") from None

    def finish(self) -> None:
        """Send what is left and end the COPY; raises what the server said, if it failed."""
        if self._pending:
            self._put(b"".join(self._pending))
            self._pending = []
        self._put(_END)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        """Make the server discard the COPY (the caller then rolls back)."""
        if self._thread.is_alive():
            with contextlib.suppress(BaseException):
                self._put(None)
            self._thread.join()
