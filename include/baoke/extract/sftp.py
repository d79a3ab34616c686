"""An inbox on an SFTP server, through the Airflow SFTP provider (``SFTPHook``).

Location: ``sftp://[user[:password]@]host[:port]/absolute/path[?conn_id=ID&<extra>=...]``.

Credentials live in an Airflow connection, like every other feed's (feeds.md: "configured
as"), so they reach Airflow's secrets handling and never sit in a Variable: the URL names
the server and the folder, and the connection ``conn_id`` (default ``sftp_inbox``) gives
the login, the password or key (extras ``key_file`` / ``private_key``) and the server's
host key (extra ``host_key``; ``no_host_key_check=true`` only for a test server). For a
quick setup without a connection, a URL with ``user[:password]@`` and no ``conn_id`` is
used on its own, its query parameters being the extras (``?host_key=ssh-ed25519%20AAAA...``).
Whatever the URL states wins over the connection (so one connection can hold the
credentials for several folders or hosts).

The URL is turned into one ``Connection`` object and handed to the provider, which then
parses every credential and host-key setting its own documented way. ``location`` is the
URL without credentials nor query: it is what lands in ``raw.*.source`` and in the logs.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import json
import posixpath
import stat
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import paramiko
from airflow.providers.sftp.hooks.sftp import SFTPHook
from airflow.sdk import Connection
from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.sdk.log import mask_secret

from baoke.connections import get_connection
from baoke.extract.inbox import InboxFile, inbox_file

DEFAULT_CONN_ID = "sftp_inbox"
#: Seconds to wait for the server to answer (the provider would wait forever).
CONNECT_TIMEOUT = 30


class SftpInboxError(ConnectionError):
    """The SFTP inbox cannot be reached or refuses the login (the message says which, and
    where the credentials came from, never what they are)."""


class _Hook(SFTPHook):
    """An ``SFTPHook`` over a ``Connection`` built here instead of one looked up by id."""

    def __init__(self, connection: Connection, attempts: int) -> None:
        self._connection = connection
        super().__init__(ssh_conn_id=connection.conn_id, conn_retry_attempts=attempts)

    def get_connection(self, conn_id: str) -> Connection:  # type: ignore[override]
        return self._connection


def _connection(location: str) -> tuple[Connection, str, str, str]:
    """(connection for the hook, where its credentials come from, root folder, location
    without credentials) for an ``sftp://`` URL."""
    url = urlsplit(location)
    public = f"sftp://{url.netloc.rpartition('@')[2]}{url.path}"
    if url.scheme != "sftp" or not url.path.startswith("/"):
        raise ValueError(f"an SFTP inbox is sftp://[user[:password]@]host[:port]/absolute/path, not {public!r}")
    params = dict(parse_qsl(url.query, keep_blank_values=True))
    conn_id = params.pop("conn_id", None)
    base: Any = None
    if conn_id or not url.username:
        conn_id = conn_id or DEFAULT_CONN_ID
        try:
            base = get_connection(conn_id)
        except AirflowNotFoundException:
            raise SftpInboxError(
                f"{public}: the Airflow connection {conn_id!r} that holds its credentials is not"
                " defined (or give user:password@ in the URL)"
            ) from None
        origin = f"Airflow connection {conn_id!r}"
    else:
        origin = "the inbox URL"
    password = unquote(url.password) if url.password is not None else getattr(base, "password", None)
    if url.password:
        mask_secret(password)  # keep it out of task logs, whatever logs it
    connection = Connection(
        conn_id=conn_id or "sftp_inbox_url",
        conn_type="sftp",
        host=url.hostname or getattr(base, "host", None),
        port=url.port or getattr(base, "port", None),
        login=unquote(url.username) if url.username else getattr(base, "login", None),
        password=password,
        extra=json.dumps({"conn_timeout": CONNECT_TIMEOUT, **(base.extra_dejson if base else {}), **params}),
    )
    if not connection.host:
        raise SftpInboxError(f"{public}: no host, neither in the URL nor in {origin}")
    return connection, origin, unquote(url.path).rstrip("/") or "/", public


class SftpInbox:
    """An inbox folder on an SFTP server: the same answers as ``LocalInbox`` for the same
    tree. One SSH/SFTP session is opened on first use and kept for every later call (a
    run reads a few files from the same folder); ``close()`` it, or use ``with``.

    ``connect_attempts`` is 1: a refused login does not get better by asking again, and a
    server that is briefly down is what the Airflow task's own retries are for."""

    def __init__(self, location: str, connect_attempts: int = 1) -> None:
        connection, self.credentials_from, self.root, self.location = _connection(location)
        self._hook = _Hook(connection, connect_attempts)
        self._session = contextlib.ExitStack()
        self._sftp: paramiko.SFTPClient | None = None

    def __enter__(self) -> SftpInbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the SFTP session and its SSH connection (reopened if used again)."""
        self._sftp = None
        self._session.close()

    def _client(self) -> paramiko.SFTPClient:
        """The open SFTP session: opened now if there is none or the server dropped it."""
        sftp = self._sftp
        transport = sftp.get_channel().get_transport() if sftp is not None else None  # type: ignore[union-attr]
        if sftp is not None and transport is not None and transport.is_active():
            return sftp
        self.close()
        where = f"{self.location} (user {self._hook.username!r}, credentials from {self.credentials_from})"
        try:
            self._sftp = self._session.enter_context(self._hook.get_managed_conn())
        except paramiko.AuthenticationException as exc:
            raise SftpInboxError(f"SFTP login refused by {where}: {exc}") from exc
        except paramiko.BadHostKeyException as exc:
            raise SftpInboxError(
                f"SFTP server {self.location} shows a host key other than the one configured"
                f" (host_key of {self.credentials_from}): {exc}"
            ) from exc
        except (paramiko.SSHException, OSError) as exc:
            hint = (
                " — give the server's public key as host_key in the connection extras (or ?host_key= in the URL)"
                if "known_hosts" in str(exc)
                else ""
            )
            raise SftpInboxError(f"cannot open an SFTP session to {where}: {exc}{hint}") from exc
        return self._sftp

    def _path(self, *parts: str) -> str:
        return posixpath.join(self.root, *(p for p in parts if p))

    def folders(self) -> list[str]:
        try:
            entries = self._client().listdir_attr(self.root)
        except FileNotFoundError:
            return []
        return sorted(e.filename for e in entries if stat.S_ISDIR(e.st_mode or 0))

    def files(self, folder: str, pattern: str) -> list[InboxFile]:
        try:
            entries = self._client().listdir_attr(self._path(folder))
        except FileNotFoundError:
            return []
        return [
            InboxFile(folder, e.filename, e.st_size or 0)
            for e in sorted(entries, key=lambda e: e.filename)
            if stat.S_ISREG(e.st_mode or 0) and fnmatch.fnmatchcase(e.filename, pattern)
        ]

    def read_bytes(self, file: InboxFile) -> bytes:
        buffer = io.BytesIO()
        self._client().getfo(self._path(file.folder, file.name), buffer)
        return buffer.getvalue()

    def write_bytes(self, relpath: str, data: bytes) -> InboxFile:
        """Upload to a temporary name in the target's folder, then rename it over the
        target (``posix-rename@openssh.com``: atomic, replaces an existing file), so the
        receiver never picks up a half-uploaded file."""
        file = inbox_file(relpath, len(data))
        sftp = self._client()
        folder = self._path(file.folder)
        try:
            sftp.stat(folder)
        except FileNotFoundError:
            self._hook.create_directory(folder)  # runs on the open session
        temp = posixpath.join(folder, f".{file.name}.{uuid.uuid4().hex}.part")
        try:
            sftp.putfo(io.BytesIO(data), temp, file_size=len(data), confirm=True)
            sftp.posix_rename(temp, posixpath.join(folder, file.name))
        except BaseException:
            with contextlib.suppress(OSError):
                sftp.remove(temp)
            raise
        return file
