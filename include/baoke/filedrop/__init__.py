"""One file drop for every file Baoke exchanges: the insurer and call-center inboxes it
reads, and the outbound folder it writes the call lists to. A drop is a local folder (or a
mounted share) or, for an ``sftp://`` location, a folder on an SFTP server
(``baoke.filedrop.sftp``); both answer the same six calls with paths relative to the drop:
list, exists, read, write (atomically), remove, close; and whether the drop itself exists
(``root_exists``: a configured inbox that is missing is an error, ``baoke.configured``).

Why not fsspec, universal-pathlib or Airflow's ``ObjectStoragePath`` (all installed)? They
would not keep the two promises the files rest on:

- *atomic delivery*: fsspec's local transactional write stages the file in the system's
  temp folder and ``shutil.move``s it over (a copy, not a rename, across filesystems; mode
  0600; no fsync); its SFTP one stages under ``/tmp`` on the server. Here a file is written
  under a temporary name in its own folder and renamed over the target, so a reader sees
  the old file or the whole new one, never half of one.
- *strict host keys*: fsspec's ``SFTPFileSystem`` accepts any unknown host key by default
  and never reads a connection's ``host_key``; ``ObjectStoragePath`` (sftp provider's
  ``sshfs`` filesystem, not installed) ignores the ``host_key`` extra as well. Our SFTP side
  goes through the provider's ``SFTPHook`` instead, which reads the connection exactly as
  every other SFTP task of an Airflow does.

What is left to write by hand is a few lines over ``pathlib`` and over the hook's session.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import urlsplit


@dataclass(frozen=True)
class DropFile:
    folder: str  # sub-folder relative to the drop ('' = the drop itself)
    name: str
    size: int

    @property
    def relpath(self) -> str:
        return f"{self.folder}/{self.name}" if self.folder else self.name


def drop_file(relpath: str, size: int = 0) -> DropFile:
    """The file at ``relpath`` (``CALLS/D001_20261121.csv``) of a drop. Refuses a path
    that could land outside the drop (absolute, or with ``..``)."""
    parts = PurePosixPath(relpath).parts
    if not parts or relpath.startswith("/") or ".." in parts:
        raise ValueError(f"not a file path inside the drop: {relpath!r}")
    return DropFile("/".join(parts[:-1]), parts[-1], size)


class FileDrop(Protocol):
    location: str  # where the drop is, without credentials: fit for logs and raw.*.source

    def folders(self, under: str = "") -> list[str]:
        """The sub-folders of ``under`` (default: of the drop itself), sorted; none if it is missing."""

    def files(self, folder: str, pattern: str = "*") -> list[DropFile]:
        """Files in ``folder`` whose name matches the glob ``pattern``, sorted by name."""

    def exists(self, relpath: str) -> bool: ...

    def read_bytes(self, relpath: str) -> bytes:
        """The file's content; ``FileNotFoundError`` if there is none."""

    def write_bytes(self, relpath: str, data: bytes) -> DropFile:
        """Deliver ``data`` at ``relpath`` atomically (folders created as needed): a reader
        sees the old file or the whole new one, never a partial file."""

    def remove(self, relpath: str) -> None:
        """Delete the file; ``FileNotFoundError`` if there is none."""

    def remove_folder(self, relpath: str) -> None:
        """Delete an empty sub-folder of the drop (the retention purge, once its files are gone)."""

    def close(self) -> None:
        """Release the connection, if any (reopened if the drop is used again)."""

    def root_exists(self) -> bool:
        """Whether the drop's own folder exists (listing a missing folder finds nothing,
        which must not pass for an empty inbox)."""


class FolderDrop:
    """A folder on this machine (or a mounted share)."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.root = Path(location)

    def _path(self, relpath: str) -> Path:
        return self.root / drop_file(relpath).relpath

    def folders(self, under: str = "") -> list[str]:
        base = self.root / under if under else self.root
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir())

    def files(self, folder: str, pattern: str = "*") -> list[DropFile]:
        base = self.root / folder if folder else self.root
        if not base.is_dir():
            return []
        return [
            DropFile(folder, p.name, p.stat().st_size)
            for p in sorted(base.iterdir())
            if p.is_file() and fnmatch.fnmatchcase(p.name, pattern)
        ]

    def exists(self, relpath: str) -> bool:
        return self._path(relpath).is_file()

    def read_bytes(self, relpath: str) -> bytes:
        return self._path(relpath).read_bytes()

    def write_bytes(self, relpath: str, data: bytes) -> DropFile:
        """Write to a temporary file in the target's folder, flush it to disk, then rename
        it over the target (``os.replace``: atomic on one filesystem)."""
        file = drop_file(relpath, len(data))
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

    def remove(self, relpath: str) -> None:
        self._path(relpath).unlink()

    def remove_folder(self, relpath: str) -> None:
        self._path(relpath).rmdir()

    def close(self) -> None:
        """Nothing to release for a local folder."""

    def root_exists(self) -> bool:
        return self.root.is_dir()


def is_sftp(location: str) -> bool:
    return location.startswith("sftp://")


def public_location(location: str) -> str:
    """``location`` fit for a log line: an ``sftp://`` URL without credentials nor query."""
    if not is_sftp(location):
        return location
    url = urlsplit(location)
    return f"sftp://{url.netloc.rpartition('@')[2]}{url.path}"


def open_drop(location: str) -> FileDrop:
    """The drop at ``location``: an ``sftp://`` URL (see ``baoke.filedrop.sftp``) or a folder
    path. Close it after use (``contextlib.closing``)."""
    if is_sftp(location):
        from baoke.filedrop.sftp import SftpDrop  # paramiko and the provider, only when needed

        return SftpDrop(location)
    return FolderDrop(location)
