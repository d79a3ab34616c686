"""Where a run's output goes: its own log file, and each task's log where the Airflow UI
reads it.

Airflow, dbt and the tasks write to this process's stdout and stderr (``dag.test()``
runs every task in-process, and dbt runs in-process through Cosmos), often straight to
the file descriptors. :class:`RunOutput` points both descriptors at a pipe for the
length of the run and copies what comes out of it:

- to the run's log, one file per run (``.baoke/logs/run_<D>_<UTC stamp>_<pid>.log``), so
  two runs never write into one file;
- while a task runs, also to that task's log file under ``AIRFLOW_HOME/logs`` at the path
  Airflow's log template gives (``dag_id=.../run_id=.../task_id=.../attempt=N.log``):
  in-process tasks write no log file of their own, and the UI's log view reads this one;
- with ``--verbose``, also to the terminal.

Which task is running is announced *in* the stream (a marker line written after
flushing), so every line lands in the file of the task that wrote it even though the
copying happens on another thread.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import sys
import threading
from pathlib import Path
from typing import BinaryIO, TextIO

from baoke.runner import TaskEvent, Watch

_MARK = b"\x1ebaoke-task-log:"


def new_log_path(logs_dir: Path, business_date: dt.date, now: dt.datetime | None = None) -> Path:
    """A log file of its own for this run: date, UTC start and pid make it unique."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return logs_dir / f"run_{business_date.isoformat()}_{stamp}_{os.getpid()}.log"


class RunOutput:
    """Capture fds 1 and 2 into the run log (and task logs) while entered.

    ``terminal`` is a text stream on the real stdout, still writable while the
    descriptors point elsewhere (progress is shown there)."""

    def __init__(self, log_path: Path, echo: bool = False) -> None:
        self.log_path = log_path
        self.echo = echo
        self.terminal: TextIO = _terminal()
        self._saved: tuple[int, int] | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RunOutput:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        self._saved = os.dup(1), os.dup(2)
        os.dup2(write_end, 1)
        os.dup2(write_end, 2)
        os.close(write_end)
        copier = _Copier(log, self._saved[0] if self.echo else None)
        self._thread = threading.Thread(target=copier.run, args=(read_end,), name="baoke-run-log", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._saved is not None
        assert self._thread is not None
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self._saved[0], 1)  # the pipe's last writer in this process goes away
        os.dup2(self._saved[1], 2)
        # a child process that kept the pipe open must not hold the run up: stop
        # waiting (its later output is lost)
        self._thread.join(timeout=30)
        os.close(self._saved[0])
        os.close(self._saved[1])
        self._saved = None
        if self.terminal is not sys.stdout:
            self.terminal.close()

    def task_log(self, path: Path | None) -> None:
        """From now on, also copy output to ``path`` (a task's log file); None stops."""
        if self._saved is None:
            return
        sys.stdout.flush()
        sys.stderr.flush()
        os.write(1, _MARK + (str(path).encode() if path else b"") + b"\n")


class TaskLogs(Watch):
    """Sends each running task's output to the file the Airflow UI reads for it."""

    def __init__(self, output: RunOutput) -> None:
        self.output = output

    def task_changed(self, event: TaskEvent) -> None:
        self.output.task_log(event.log_file if event.state == "running" else None)


def _terminal() -> TextIO:
    """The real stdout, on a descriptor of its own (Python's ``sys.stdout`` when it has
    none, e.g. under a test runner that captures it)."""
    try:
        fd = os.dup(sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return sys.stdout
    return os.fdopen(fd, "w", buffering=1, encoding="utf-8")


class _Copier:
    """Drains the pipe (it must never stop: a full pipe would block every writer)."""

    def __init__(self, log: BinaryIO, echo_fd: int | None) -> None:
        self.log = log
        self.echo_fd = echo_fd
        self.task_file: BinaryIO | None = None

    def run(self, read_end: int) -> None:
        with self.log, os.fdopen(read_end, "rb", buffering=0) as pipe:
            pending = b""
            while chunk := pipe.read(65536):
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    self._line(line)
                _flush(self.log)
                if self.task_file:
                    _flush(self.task_file)
            if pending:
                self._copy(pending)
            self._switch("")

    def _line(self, line: bytes) -> None:
        before, mark, path = line.partition(_MARK)
        if mark:
            if before:
                self._copy(before + b"\n")
            self._switch(path.decode(errors="replace"))
        else:
            self._copy(line + b"\n")

    def _copy(self, data: bytes) -> None:
        for file in (self.log, self.task_file):
            if file:
                with contextlib.suppress(OSError):  # a full disk must not block the run:
                    file.write(data)  # the pipe has to keep draining
        if self.echo_fd is not None:
            with contextlib.suppress(OSError):
                os.write(self.echo_fd, data)

    def _switch(self, path: str) -> None:
        if self.task_file:
            self.task_file.close()
            self.task_file = None
        if path:
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                # one file per attempt of a run; closed at the next switch
                self.task_file = Path(path).open("wb")  # noqa: SIM115
            except OSError:
                self.task_file = None  # the run log still has every line


def _flush(file: BinaryIO) -> None:
    with contextlib.suppress(OSError):
        file.flush()
