"""Where feed files are found: a local folder, or an SFTP server (Airflow SFTP provider)
when the configured location is an ``sftp://`` URL. Both look the same to the feeds:
list the files under a sub-folder, read one file's bytes."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class InboxFile:
    folder: str  # sub-folder relative to the inbox ('' = the inbox itself)
    name: str
    size: int

    @property
    def relpath(self) -> str:
        return f"{self.folder}/{self.name}" if self.folder else self.name


class Inbox(Protocol):
    location: str

    def folders(self) -> list[str]:
        """The sub-folders of the inbox (one per insurer)."""

    def files(self, folder: str, pattern: str) -> list[InboxFile]:
        """Files in ``folder`` whose name matches the glob ``pattern``, sorted by name."""

    def read_bytes(self, file: InboxFile) -> bytes: ...


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
        return [InboxFile(folder, p.name, p.stat().st_size) for p in sorted(base.iterdir())
                if p.is_file() and fnmatch.fnmatchcase(p.name, pattern)]

    def read_bytes(self, file: InboxFile) -> bytes:
        return (self.root / file.relpath).read_bytes()


def open_inbox(location: str) -> Inbox:
    """The inbox at ``location``: ``sftp://...`` or a folder path."""
    if location.startswith("sftp://"):
        from baoke.extract.sftp import SftpInbox

        return SftpInbox(location)
    return LocalInbox(location)
