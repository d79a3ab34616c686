"""The SFTP inbox against a real SFTP server (asyncssh, in this process, on a free port of
127.0.0.1, password login, its own host key): it must answer exactly like the local
folder inbox for the same tree, deliver files atomically, fail clearly on a bad login or
an unknown server, and feed the insurer extractor end to end into PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import asyncssh
import psycopg2
import pytest
from airflow.sdk import Connection

from baoke.extract import insurer
from baoke.filedrop import DropFile, FolderDrop, open_drop
from baoke.filedrop.sftp import SftpDrop, SftpDropError
from baoke_sim.insurer_files import render

USER, PASSWORD = "picc_drop", "Tr0ub4dor&3:@/?"  # URL-special characters on purpose
BUSINESS_DATE = dt.date(2026, 11, 21)
asyncssh.set_log_level("WARNING")

POLICY_ROWS = [
    [
        "PDAA202637010000000001",
        "LSVAU2180N2100001",
        "粤A12345",
        "张伟",
        "13800138000",
        "商业险",
        "2026-11-20",
        "2027-11-19",
        "3560.00",
        "2026/11/19",
        "D001",
    ],
    [
        "PDZA202637010000000002",
        "LSVAU2180N2100001",
        "粤A12345",
        "张伟",
        "13800138000",
        "交强险",
        "2026/11/20",
        "2027/11/19",
        "950.00",
        "2026-11-19",
        "D001",
    ],
    [
        "PDAA202637010000000003",
        "LFV2A21K8P4000002",
        "粤B67890",
        "李娜",
        "+86 139-0013-9000",
        "商业险",
        "2026-11-21",
        "2027-11-20",
        "4210.50",
        "2026-11-19",
        "",
    ],
]
CLAIM_ROWS = [
    [
        "RDAA2026370100000001",
        "PDAA202637010000000001",
        "LSVAU2180N2100001",
        "2026-11-18",
        "2026/11/19",
        "5230.00",
        "D001",
        "已定损",
    ],
    [
        "RDAA2026370100000002",
        "PDAA202637010000000009",
        "LFV2A21K8P4000002",
        "2026/11/17",
        "2026-11-18",
        "1200.00",
        "",
        "已报案",
    ],
]
POLICY = render("POLICY", POLICY_ROWS, "gb18030")
CLAIM = render("CLAIM", CLAIM_ROWS, "utf-8-sig")


class SftpServer:
    """A real SFTP server serving ``root`` as ``/``, run by asyncssh in a thread with its
    own event loop. It takes ``USER``'s password or ``client_key``. Counts SSH connections
    and records uploads and renames, so tests can check what a client really did on the wire."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_key = self.key.export_public_key().decode().split("\n")[0].strip()
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.connections = 0
        self.ops: list[tuple[str, ...]] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> SftpServer:
        server = self

        class Auth(asyncssh.SSHServer):
            def connection_made(self, conn: Any) -> None:
                server.connections += 1

            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                return (username, password) == (USER, PASSWORD)

            def public_key_auth_supported(self) -> bool:
                return True

            def validate_public_key(self, username: str, key: Any) -> bool:
                return username == USER and key.export_public_key() == server.client_key.export_public_key()

        class Files(asyncssh.SFTPServer):
            def __init__(self, chan: Any) -> None:
                super().__init__(chan, chroot=os.fsencode(server.root))

            def open(self, path: bytes, pflags: int, attrs: Any) -> Any:
                if pflags & asyncssh.FXF_WRITE:
                    server.ops.append(("write", path.decode()))
                return super().open(path, pflags, attrs)

            def posix_rename(self, oldpath: bytes, newpath: bytes) -> Any:
                server.ops.append(("rename", oldpath.decode(), newpath.decode()))
                return super().posix_rename(oldpath, newpath)

        async def listen() -> Any:
            return await asyncssh.listen(
                "127.0.0.1", 0, server_factory=Auth, server_host_keys=[self.key], sftp_factory=Files, allow_scp=False
            )

        self.thread.start()
        self.acceptor = asyncio.run_coroutine_threadsafe(listen(), self.loop).result(10)
        self.port = self.acceptor.get_port()
        return self

    def stop(self) -> None:
        async def close() -> None:
            self.acceptor.close()
            await self.acceptor.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def url(self, path: str = "/inbox", password: str = PASSWORD, **params: str) -> str:
        """The location with credentials and the host key in the URL (no Airflow connection)."""
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in {"host_key": self.host_key, **params}.items())
        return f"sftp://{USER}:{quote(password, safe='')}@127.0.0.1:{self.port}{path}?{query}"


def sftp_inbox(location: str) -> SftpDrop:
    """The inbox the extractors get for ``location`` (what ``open_drop`` returns)."""
    inbox = open_drop(location)
    assert isinstance(inbox, SftpDrop)
    return inbox


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    """The server, its root holding an insurer inbox as the insurers deliver it."""
    root = tmp_path_factory.mktemp("sftp-root")
    inbox = root / "inbox"
    for relpath, data in {
        "PICC/POLICY_PICC_20261120.csv": POLICY,
        "CPIC/CLAIM_CPIC_20261120.csv": CLAIM,
        "PICC/readme.txt": b"not a feed file",
        "PICC/archive/POLICY_PICC_20261101.csv": POLICY,
        "notes.txt": b"a file at the top, not an insurer",
    }.items():
        (inbox / relpath).parent.mkdir(parents=True, exist_ok=True)
        (inbox / relpath).write_bytes(data)
    (inbox / "PAIC").mkdir()  # an insurer that has delivered nothing yet
    srv = SftpServer(root).start()
    yield srv
    srv.stop()


def test_the_files_are_what_an_insurer_sends() -> None:
    assert POLICY.decode("gb18030").endswith("合计,3\r\n")
    assert not POLICY.startswith(b"\xef\xbb\xbf")
    assert CLAIM.startswith(b"\xef\xbb\xbf")
    assert CLAIM.decode("utf-8-sig").endswith("合计,2\r\n")
    with pytest.raises(UnicodeDecodeError):
        POLICY.decode("utf-8")


def test_sftp_inbox_answers_exactly_like_the_local_folder(server: SftpServer) -> None:
    local = FolderDrop(str(server.root / "inbox"))
    before = server.connections
    with sftp_inbox(server.url()) as sftp:
        assert sftp.folders() == local.folders() == ["CPIC", "PAIC", "PICC"]
        for folder in ["", "PICC", "CPIC", "PAIC", "missing", "PICC/archive"]:
            for pattern in ["*", "*.csv", "POLICY_PICC_*.csv", "CLAIM_*_*.csv", "nothing*"]:
                assert sftp.files(folder, pattern) == local.files(folder, pattern), (folder, pattern)
        assert sftp.files("PICC", "*") == [
            DropFile("PICC", "POLICY_PICC_20261120.csv", len(POLICY)),
            DropFile("PICC", "readme.txt", 15),
        ]
        for folder in sftp.folders():
            for file in sftp.files(folder, "*"):
                assert sftp.read_bytes(file.relpath) == local.read_bytes(file.relpath)
        assert sftp.read_bytes("PICC/POLICY_PICC_20261120.csv") == POLICY
        assert sftp.read_bytes("CPIC/CLAIM_CPIC_20261120.csv") == CLAIM
        with pytest.raises(FileNotFoundError):
            sftp.read_bytes("PICC/POLICY_PICC_20991231.csv")
    assert server.connections == before + 1  # one SSH connection for all of it


def test_location_carries_no_credentials(server: SftpServer) -> None:
    inbox = SftpDrop(server.url())
    assert inbox.location == f"sftp://127.0.0.1:{server.port}/inbox"
    assert inbox.root == "/inbox"
    assert inbox.credentials_from == "the inbox URL"
    with pytest.raises(ValueError, match="absolute/path") as no_path:
        SftpDrop(f"sftp://{USER}:secret-word@127.0.0.1:{server.port}")
    assert "secret-word" not in str(no_path.value)
    with pytest.raises(ValueError, match="absolute/path") as malformed:
        SftpDrop(f"sftp://{USER}:secret-word@127.0.0.1:{server.port}/a://b://c")
    assert "secret-word" not in str(malformed.value)
    assert SftpDrop(f"sftp://{USER}:pw@127.0.0.1:{server.port}/").root == "/", "the server's root is a folder"


def test_credentials_from_an_airflow_connection(server: SftpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The preferred set-up: the URL names server and folder, the connection the login."""
    connection = {"conn_type": "sftp", "login": USER, "password": PASSWORD, "extra": {"host_key": server.host_key}}
    monkeypatch.setenv("AIRFLOW_CONN_INSURER_SFTP", json.dumps(connection))
    monkeypatch.setenv("AIRFLOW_CONN_SFTP_INBOX", json.dumps({**connection, "host": "127.0.0.1", "port": server.port}))
    with sftp_inbox(f"sftp://127.0.0.1:{server.port}/inbox?conn_id=insurer_sftp") as named:
        assert named.credentials_from == "Airflow connection 'insurer_sftp'"
        assert named.folders() == ["CPIC", "PAIC", "PICC"]
    with sftp_inbox("sftp:///inbox") as default:  # host and port from the default connection too
        assert default.credentials_from == "Airflow connection 'sftp_inbox'"
        assert [f.name for f in default.files("CPIC", "CLAIM_CPIC_*.csv")] == ["CLAIM_CPIC_20261120.csv"]


def connection_forms(server: SftpServer, key_file: Path) -> dict[str, str]:
    """``AIRFLOW_CONN_SFTP_INBOX`` for a key login and the server's host key, in each form a
    data engineer makes it (the provider's SFTP connection: host, port, login; extras
    ``private_key`` or ``key_file``, and ``host_key``)."""
    private_key = server.client_key.export_private_key("openssh").decode()
    fields = {"conn_type": "sftp", "host": "127.0.0.1", "port": server.port, "login": USER}
    extra = {"private_key": private_key, "host_key": server.host_key}
    return {
        # AIRFLOW_CONN_SFTP_INBOX='{"conn_type": "sftp", ...}', the key inline
        "json": json.dumps({**fields, "extra": extra}),
        # the URI form written by hand: extras in the query, URL-encoded (the host key has a space)
        "uri": f"sftp://{USER}@127.0.0.1:{server.port}/?"
        + urlencode({"key_file": str(key_file), "host_key": server.host_key}),
        # `airflow connections add sftp_inbox --conn-type sftp --conn-host ... --conn-extra '{...}'`,
        # as Airflow renders it to a URI (`airflow connections get sftp_inbox -o uri`): the
        # multi-line private key travels encoded in the query
        "cli": Connection(conn_id="sftp_inbox", extra=json.dumps(extra), **fields).get_uri(),
    }


@pytest.mark.parametrize("form", ["json", "uri", "cli"])
def test_a_key_login_from_each_connection_form(
    server: SftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, form: str
) -> None:
    key_file = tmp_path / "id_ed25519"
    key_file.write_bytes(server.client_key.export_private_key("openssh"))
    key_file.chmod(0o600)
    monkeypatch.setenv("AIRFLOW_CONN_SFTP_INBOX", connection_forms(server, key_file)[form])
    with caplog.at_level(logging.DEBUG), sftp_inbox("sftp:///inbox") as inbox:
        assert inbox.credentials_from == "Airflow connection 'sftp_inbox'"
        assert inbox.folders() == ["CPIC", "PAIC", "PICC"]
        assert inbox.read_bytes("PICC/POLICY_PICC_20261120.csv") == POLICY
    assert server.client_key.export_private_key("openssh").decode().splitlines()[1] not in caplog.text


def test_a_connection_without_host_key_is_refused(server: SftpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``host_key`` and no ``no_host_key_check``: as the provider does, only a server in
    the system's known_hosts is accepted (this one is not)."""
    private_key = server.client_key.export_private_key("openssh").decode()
    connection = {"conn_type": "sftp", "host": "127.0.0.1", "port": server.port, "login": USER}
    monkeypatch.setenv("AIRFLOW_CONN_SFTP_INBOX", json.dumps({**connection, "extra": {"private_key": private_key}}))
    with pytest.raises(SftpDropError, match="host_key") as refused:
        sftp_inbox("sftp:///inbox").folders()
    assert private_key.splitlines()[1] not in str(refused.value)


def test_a_missing_connection_is_named(server: SftpServer) -> None:
    with pytest.raises(SftpDropError, match=r"connection 'no_such_conn' .* not defined"):
        sftp_inbox(f"sftp://127.0.0.1:{server.port}/inbox?conn_id=no_such_conn")


def test_bad_credentials_fail_clearly_without_showing_the_password(server: SftpServer) -> None:
    inbox = sftp_inbox(server.url(password="wrong-password-42"))
    with pytest.raises(SftpDropError, match="login refused") as failure:
        inbox.folders()
    message = str(failure.value)
    assert f"sftp://127.0.0.1:{server.port}/inbox" in message
    assert repr(USER) in message
    assert "credentials from the inbox URL" in message
    assert "wrong-password-42" not in message
    assert PASSWORD not in message


def test_an_unknown_server_is_refused(server: SftpServer) -> None:
    location = f"sftp://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{server.port}/inbox"  # no host_key
    with pytest.raises(SftpDropError, match="host_key"):
        sftp_inbox(location).folders()
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    with pytest.raises(SftpDropError, match="host key other than"):
        sftp_inbox(f"{location}?host_key={quote(other, safe='')}").folders()


def test_write_bytes_uploads_to_a_temporary_name_then_renames(server: SftpServer) -> None:
    first, second = render("POLICY", POLICY_ROWS[:1], "gb18030"), render("POLICY", POLICY_ROWS, "gb18030")
    server.ops.clear()
    with sftp_inbox(server.url()) as inbox:
        assert inbox.write_bytes("CALLS/out/D001_20261121.csv", first) == DropFile(
            "CALLS/out", "D001_20261121.csv", len(first)
        )  # folders created as needed
        inbox.write_bytes("CALLS/out/D001_20261121.csv", second)  # replaces the file
        with pytest.raises(ValueError, match="not a file path inside the drop"):
            inbox.write_bytes("../escape.csv", first)
    folder = server.root / "inbox" / "CALLS" / "out"
    assert (folder / "D001_20261121.csv").read_bytes() == second
    assert os.listdir(folder) == ["D001_20261121.csv"]  # no temporary file left
    final = "/inbox/CALLS/out/D001_20261121.csv"
    writes = [op[1] for op in server.ops if op[0] == "write"]
    assert len(writes) == 2
    assert final not in writes
    assert all(w.startswith("/inbox/CALLS/out/.D001_20261121.csv.") and w.endswith(".part") for w in writes)
    assert [op for op in server.ops if op[0] == "rename"] == [("rename", w, final) for w in writes]


def test_local_write_bytes_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = FolderDrop(str(tmp_path))
    inbox.write_bytes("CALLS/D001_20261121.csv", b"old")
    inbox.write_bytes("CALLS/D001_20261121.csv", POLICY)
    target = tmp_path / "CALLS" / "D001_20261121.csv"
    assert target.read_bytes() == POLICY
    assert os.listdir(target.parent) == [target.name]
    assert target.stat().st_mode & 0o777 == 0o644

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        inbox.write_bytes("CALLS/D001_20261121.csv", b"half")
    assert target.read_bytes() == POLICY
    assert os.listdir(target.parent) == [target.name]
    with pytest.raises(ValueError, match="not a file path inside the drop"):
        inbox.write_bytes("/etc/passwd", b"x")


@pytest.mark.parametrize("kind", ["folder", "sftp"])
def test_remove_and_exists(server: SftpServer, kind: str) -> None:
    """Both drops answer ``exists`` and ``remove`` alike, inside the drop only."""
    (server.root / "drop").mkdir(exist_ok=True)
    drop = FolderDrop(str(server.root / "drop")) if kind == "folder" else sftp_inbox(server.url("/drop"))
    try:
        drop.write_bytes(f"{kind}/2026-11-20/manifest.json", b"{}")
        assert drop.exists(f"{kind}/2026-11-20/manifest.json")
        assert not drop.exists(f"{kind}/2026-11-20/other.json")
        assert not drop.exists(f"{kind}/2026-11-20"), "a folder is not a file"
        assert drop.folders(kind) == ["2026-11-20"]
        drop.remove(f"{kind}/2026-11-20/manifest.json")
        assert not drop.exists(f"{kind}/2026-11-20/manifest.json")
        assert drop.files(f"{kind}/2026-11-20") == []
        assert not (server.root / "drop" / kind / "2026-11-20" / "manifest.json").exists()
        with pytest.raises(FileNotFoundError):
            drop.remove(f"{kind}/2026-11-20/manifest.json")
        for outside in ("../inbox/notes.txt", "/inbox/notes.txt"):
            with pytest.raises(ValueError, match="inside the drop"):
                drop.remove(outside)
            with pytest.raises(ValueError, match="inside the drop"):
                drop.exists(outside)
        assert (server.root / "inbox" / "notes.txt").exists()
    finally:
        drop.close()


@pytest.fixture
def database(warehouse_url: str) -> Iterator[str]:
    """A fresh database of the test warehouse, migrated, with the raw tables."""
    from baoke.extract.loader import ensure_raw_tables
    from baoke.migrate import migrate

    name = f"sftp_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(warehouse_url)
    admin.autocommit = True
    admin.cursor().execute(f"create database {name}")
    url = warehouse_url.rsplit("/", 1)[0] + "/" + name
    migrate(url)
    conn = psycopg2.connect(url)
    ensure_raw_tables(conn)
    conn.close()
    yield url
    admin.cursor().execute(f"drop database {name} with (force)")
    admin.close()


def test_insurer_files_load_from_sftp_into_the_warehouse(server: SftpServer, database: str) -> None:
    conn = psycopg2.connect(database)
    try:
        with sftp_inbox(server.url()) as inbox:
            picc = insurer.extract(conn, inbox, "PICC", BUSINESS_DATE)
            cpic = insurer.extract(conn, inbox, "CPIC", BUSINESS_DATE)
            again = insurer.extract(conn, inbox, "PICC", BUSINESS_DATE)
        assert [(o.file.relpath, o.status) for o in picc] == [("PICC/POLICY_PICC_20261120.csv", "loaded")]
        assert [(o.file.relpath, o.status) for o in cpic] == [("CPIC/CLAIM_CPIC_20261120.csv", "loaded")]
        assert [o.status for o in again] == ["duplicate"]  # same name, same bytes: skipped, no re-delivery
        with conn.cursor() as cur:
            cur.execute("select record->>'保单号', record->>'被保险人', source from raw.insurer_policies order by 1")
            source = f"sftp://127.0.0.1:{server.port}/inbox/PICC/POLICY_PICC_20261120.csv"
            assert cur.fetchall() == sorted((r[0], r[3], source) for r in POLICY_ROWS)
            cur.execute("select record->>'报案号', record->>'案件状态' from raw.insurer_claims order by 1")
            assert cur.fetchall() == sorted((r[0], r[7]) for r in CLAIM_ROWS)
            cur.execute("select folder, name, status, encoding, size_bytes, redeliveries from etl.files order by 1")
            assert cur.fetchall() == [
                ("CPIC", "CLAIM_CPIC_20261120.csv", "loaded", "utf-8-sig", len(CLAIM), 0),
                ("PICC", "POLICY_PICC_20261120.csv", "loaded", "gb18030", len(POLICY), 0),
            ]
            cur.execute("select count(*) from raw.insurer_policies where source like %s", (f"%{PASSWORD}%",))
            assert cur.fetchone()[0] == 0
    finally:
        conn.close()
