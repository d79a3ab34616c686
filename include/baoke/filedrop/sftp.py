"""A file drop on an SFTP server, through the Airflow SFTP provider (``SFTPHook``).

Location: ``sftp://[user[:password]@]host[:port]/absolute/path[?conn_id=ID&<extra>=...]``.

Credentials live in an Airflow connection of type ``sftp``, like every other feed's, so
they reach Airflow's secrets handling and never sit in a Variable: the URL names the server
and the folder, and the connection ``conn_id`` (default ``sftp_inbox``) gives what the
provider's SFTP connection holds — host, port, login, password, and in its extras the key
(``key_file`` or ``private_key``, with ``private_key_passphrase``) and the server's public
key (``host_key``; ``no_host_key_check=true`` only for a test server). Any form Airflow
takes works: ``airflow connections add``, ``AIRFLOW_CONN_SFTP_INBOX`` as JSON or as a URI
(``sftp://user@host:22/?host_key=ssh-ed25519+AAAA...``), a secrets backend.

For a quick setup without a connection, a location with ``user[:password]@`` and no
``conn_id`` is itself the connection, in Airflow's URI form (its query parameters are the
extras: ``?host_key=ssh-ed25519%20AAAA...``). Whatever the URL states wins over the
connection (so one connection can hold the credentials for several folders or hosts).

Either way one ``Connection`` is handed to the provider's hook, which parses every
credential and host-key setting its own documented way: with neither ``host_key`` nor
``no_host_key_check``, only a server already in the system's ``known_hosts`` is accepted.
``location`` is the URL without credentials nor query: it is what lands in ``raw.*.source``
and in the logs.
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
from urllib.parse import urlsplit

import paramiko
from airflow.providers.sftp.hooks.sftp import SFTPHook
from airflow.sdk import Connection
from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.sdk.log import mask_secret

from baoke.filedrop import DropFile, drop_file, public_location

DEFAULT_CONN_ID = "sftp_inbox"
#: Seconds to wait for the server to answer, unless the connection says (the provider would wait forever).
CONNECT_TIMEOUT = 30
#: URL parameters that hold a secret (the password in ``user:password@`` is one too).
_SECRET_EXTRAS = ("private_key", "private_key_passphrase")


class SftpDropError(ConnectionError):
    """The SFTP drop cannot be reached or refuses the login (the message says which, and
    where the credentials came from, never what they are)."""


class _Hook(SFTPHook):
    """An ``SFTPHook`` over a ``Connection`` built here instead of one looked up by id
    (``get_connection`` is where the provider reads its connection from)."""

    def __init__(self, connection: Connection, attempts: int) -> None:
        self._connection = connection
        super().__init__(ssh_conn_id=connection.conn_id, conn_retry_attempts=attempts)

    def get_connection(self, conn_id: str) -> Connection:  # type: ignore[override]
        return self._connection


def _connection(location: str) -> tuple[Connection, str, str]:
    """(connection for the hook, where its credentials come from, root folder) for an
    ``sftp://`` URL, parsed as Airflow parses a connection URI."""
    public = public_location(location)
    expected = f"an SFTP drop is sftp://[user[:password]@]host[:port]/absolute/path, not {public!r}"
    if not urlsplit(location).path.startswith("/"):  # the server's root, "/", is a folder too
        raise ValueError(expected)
    try:
        url = Connection.from_uri(location, conn_id=DEFAULT_CONN_ID)
    except Exception:  # Airflow's message quotes the whole URI, password included
        raise ValueError(expected) from None
    if url.conn_type != "sftp":
        raise ValueError(expected)
    params: dict[str, Any] = json.loads(url.extra) if url.extra else {}
    conn_id = params.pop("conn_id", None)
    base: Any = None
    if conn_id or not url.login:
        conn_id = conn_id or DEFAULT_CONN_ID
        try:
            base = Connection.get(conn_id)
        except AirflowNotFoundException:
            raise SftpDropError(
                f"{public}: the Airflow connection {conn_id!r} that holds its credentials is not"
                " defined (or give user:password@ in the URL)"
            ) from None
        origin = f"Airflow connection {conn_id!r}"
    else:
        origin = "the inbox URL"
    for secret in (url.password, *(params.get(k) for k in _SECRET_EXTRAS)):
        if secret:
            mask_secret(secret)  # keep it out of task logs, whatever logs it
    connection = Connection(
        conn_id=conn_id or "sftp_drop_url",
        conn_type="sftp",
        host=url.host or getattr(base, "host", None),
        port=url.port or getattr(base, "port", None),
        login=url.login or getattr(base, "login", None),
        password=url.password if url.password is not None else getattr(base, "password", None),
        extra=json.dumps({"conn_timeout": CONNECT_TIMEOUT, **(base.extra_dejson if base else {}), **params}),
    )
    if not connection.host:
        raise SftpDropError(f"{public}: no host, neither in the URL nor in {origin}")
    return connection, origin, "/" + (url.schema or "").strip("/")


class SftpDrop:
    """A folder on an SFTP server: the same answers as ``FolderDrop`` for the same tree.
    One SSH/SFTP session (the hook's managed one) is opened on first use and kept for every
    later call (a run reads a few files from the same folder); ``close()`` it, or use ``with``.

    ``connect_attempts`` is 1: a refused login does not get better by asking again, and a
    server that is briefly down is what the Airflow task's own retries are for."""

    def __init__(self, location: str, connect_attempts: int = 1) -> None:
        connection, self.credentials_from, self.root = _connection(location)
        self.location = public_location(location)
        self._hook = _Hook(connection, connect_attempts)
        self._session = contextlib.ExitStack()
        self._sftp: paramiko.SFTPClient | None = None

    def __enter__(self) -> SftpDrop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the SFTP session and its SSH connection (reopened if used again)."""
        self._sftp = None
        self._session.close()

    def _client(self) -> paramiko.SFTPClient:
        """The open SFTP session: opened now if there is none or the server dropped it.
        The hook's own methods (``create_directory``, ``delete_file``, ...) run on it too:
        they reuse the managed session held open here."""
        sftp = self._sftp
        transport = sftp.get_channel().get_transport() if sftp is not None else None  # type: ignore[union-attr]
        if sftp is not None and transport is not None and transport.is_active():
            return sftp
        self.close()
        where = f"{self.location} (user {self._hook.username!r}, credentials from {self.credentials_from})"
        try:
            self._sftp = self._session.enter_context(self._hook.get_managed_conn())
        except paramiko.AuthenticationException as exc:
            raise SftpDropError(f"SFTP login refused by {where}: {exc}") from exc
        except paramiko.BadHostKeyException as exc:
            raise SftpDropError(
                f"SFTP server {self.location} shows a host key other than the one configured"
                f" (host_key of {self.credentials_from}): {exc}"
            ) from exc
        except (paramiko.SSHException, OSError) as exc:
            hint = (
                " — give the server's public key as host_key in the connection extras (or ?host_key= in the URL)"
                if "known_hosts" in str(exc)
                else ""
            )
            raise SftpDropError(f"cannot open an SFTP session to {where}: {exc}{hint}") from exc
        return self._sftp

    def _path(self, relpath: str) -> str:
        return posixpath.join(self.root, drop_file(relpath).relpath)

    def _listing(self, folder: str) -> list[paramiko.SFTPAttributes]:
        self._client()
        try:
            entries = self._hook.list_directory_with_attr(posixpath.join(self.root, folder) if folder else self.root)
        except FileNotFoundError:
            return []
        return sorted(entries, key=lambda e: e.filename)

    def folders(self, under: str = "") -> list[str]:
        return [e.filename for e in self._listing(under) if stat.S_ISDIR(e.st_mode or 0)]

    def files(self, folder: str, pattern: str = "*") -> list[DropFile]:
        return [
            DropFile(folder, e.filename, e.st_size or 0)
            for e in self._listing(folder)
            if stat.S_ISREG(e.st_mode or 0) and fnmatch.fnmatchcase(e.filename, pattern)
        ]

    def exists(self, relpath: str) -> bool:
        """Only "no such file" is an answer of False: any other failure (permissions, a
        dropped session) raises, so a caller never mistakes "could not look" for "absent"
        (the outbound writer removes a stale manifest only when it sees one)."""
        try:
            return stat.S_ISREG(self._client().stat(self._path(relpath)).st_mode or 0)
        except FileNotFoundError:
            return False

    def read_bytes(self, relpath: str) -> bytes:
        buffer = io.BytesIO()
        self._client().getfo(self._path(relpath), buffer)
        return buffer.getvalue()

    def write_bytes(self, relpath: str, data: bytes) -> DropFile:
        """Upload to a temporary name in the target's folder, then rename it over the
        target (``posix-rename@openssh.com``: atomic, replaces an existing file; the hook
        has no rename of its own)."""
        file = drop_file(relpath, len(data))
        sftp = self._client()
        folder = posixpath.dirname(self._path(file.relpath))
        if not self._hook.isdir(folder):
            self._hook.create_directory(folder)  # with its parents
        temp = posixpath.join(folder, f".{file.name}.{uuid.uuid4().hex}.part")
        try:
            sftp.putfo(io.BytesIO(data), temp, file_size=len(data), confirm=True)
            sftp.posix_rename(temp, posixpath.join(folder, file.name))
        except BaseException:
            with contextlib.suppress(OSError):
                sftp.remove(temp)
            raise
        return file

    def remove(self, relpath: str) -> None:
        self._client()
        self._hook.delete_file(self._path(relpath))

    def remove_folder(self, relpath: str) -> None:
        self._client().rmdir(self._path(relpath))

    def root_exists(self) -> bool:
        """As ``exists``: only "no such file" answers False, any other failure raises."""
        try:
            return stat.S_ISDIR(self._client().stat(self.root).st_mode or 0)
        except FileNotFoundError:
            return False
