"""Where feed files are found: a local folder, or an SFTP server (Airflow SFTP provider)
when the configured location is an ``sftp://`` URL. Both look the same to the feeds:
list the files under a sub-folder, read one file's bytes, and deliver a file (the outbound
export writes its call lists through the same abstraction)."""

from __future__ import annotations

import contextlib
import fnmatch
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol


@dataclass(frozen=True)
class InboxFile:
    folder: str  # sub-folder relative to the inbox ('' = the inbox itself)
    name: str
    size: int

    @property
    def relpath(self) -> str:
        return f"{self.folder}/{self.name}" if self.folder else self.name


def inbox_file(relpath: str, size: int) -> InboxFile:
    """The file at ``relpath`` (``CALLS/D001_20261121.csv``) of an inbox. Refuses a path
    that could land outside the inbox (absolute, or with ``..``)."""
    parts = PurePosixPath(relpath).parts
    if not parts or relpath.startswith("/") or ".." in parts:
        raise ValueError(f"not a file path inside the inbox: {relpath!r}")
    return InboxFile("/".join(parts[:-1]), parts[-1], size)


class Inbox(Protocol):
    location: str

    def folders(self) -> list[str]:
        """The sub-folders of the inbox (one per insurer)."""

    def files(self, folder: str, pattern: str) -> list[InboxFile]:
        """Files in ``folder`` whose name matches the glob ``pattern``, sorted by name."""

    def read_bytes(self, file: InboxFile) -> bytes: ...

    def close(self) -> None:
        """Release the connection, if any."""

    def write_bytes(self, relpath: str, data: bytes) -> InboxFile:
        """Deliver ``data`` at ``relpath`` atomically: a reader never sees a partial file."""


class LocalInbox:
    """A folder on this machine (or a mounted share)."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.root = Path(location)

    def folders(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir())

    def files(self, folder: str, pattern: str) -> list[InboxFile]:
        base = self.root / folder if folder else self.root
        if not base.is_dir():
            return []
        return [
            InboxFile(folder, p.name, p.stat().st_size)
            for p in sorted(base.iterdir())
            if p.is_file() and fnmatch.fnmatchcase(p.name, pattern)
        ]

    def close(self) -> None:
        """Nothing to release for a local folder."""

    def read_bytes(self, file: InboxFile) -> bytes:
        return (self.root / file.relpath).read_bytes()

    def write_bytes(self, relpath: str, data: bytes) -> InboxFile:
        """Write to a temporary file in the target's folder, then rename it over the
        target (atomic on one filesystem): whoever polls the folder sees the old file or
        the whole new one, never a half-written file that looks complete."""
        file = inbox_file(relpath, len(data))
        target = self.root / file.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".part", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, 0o644)  # mkstemp makes it 0600; the receiver must be able to read it
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        return file


def open_inbox(location: str) -> Inbox:
    """The inbox at ``location``: ``sftp://...`` or a folder path."""
    if location.startswith("sftp://"):
        from baoke.extract.sftp import SftpInbox

        return SftpInbox(location)
    return LocalInbox(location)
