"""The SFTP inbox against a real SFTP server (asyncssh, in this process, on a free port of
127.0.0.1, password login, its own host key): it must answer exactly like the local
folder inbox for the same tree, deliver files atomically, fail clearly on a bad login or
an unknown server, and feed the insurer extractor end to end into PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncssh
import psycopg2
import pytest

from baoke.extract import insurer
from baoke.extract.inbox import InboxFile, LocalInbox, open_inbox
from baoke.extract.sftp import SftpInbox, SftpInboxError
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
    own event loop. Counts SSH connections and records uploads and renames, so tests can
    check what a client really did on the wire."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_key = self.key.export_public_key().decode().split("\n")[0].strip()
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


def sftp_inbox(location: str) -> SftpInbox:
    """The inbox the extractors get for ``location`` (what ``open_inbox`` returns)."""
    inbox = open_inbox(location)
    assert isinstance(inbox, SftpInbox)
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
    local = LocalInbox(str(server.root / "inbox"))
    before = server.connections
    with sftp_inbox(server.url()) as sftp:
        assert sftp.folders() == local.folders() == ["CPIC", "PAIC", "PICC"]
        for folder in ["", "PICC", "CPIC", "PAIC", "missing", "PICC/archive"]:
            for pattern in ["*", "*.csv", "POLICY_PICC_*.csv", "CLAIM_*_*.csv", "nothing*"]:
                assert sftp.files(folder, pattern) == local.files(folder, pattern), (folder, pattern)
        assert sftp.files("PICC", "*") == [
            InboxFile("PICC", "POLICY_PICC_20261120.csv", len(POLICY)),
            InboxFile("PICC", "readme.txt", 15),
        ]
        for folder in sftp.folders():
            for file in sftp.files(folder, "*"):
                assert sftp.read_bytes(file) == local.read_bytes(file)
        assert sftp.read_bytes(InboxFile("PICC", "POLICY_PICC_20261120.csv", len(POLICY))) == POLICY
        assert sftp.read_bytes(InboxFile("CPIC", "CLAIM_CPIC_20261120.csv", len(CLAIM))) == CLAIM
        with pytest.raises(FileNotFoundError):
            sftp.read_bytes(InboxFile("PICC", "POLICY_PICC_20991231.csv", 0))
    assert server.connections == before + 1  # one SSH connection for all of it


def test_location_carries_no_credentials(server: SftpServer) -> None:
    inbox = SftpInbox(server.url())
    assert inbox.location == f"sftp://127.0.0.1:{server.port}/inbox"
    assert inbox.root == "/inbox"
    assert inbox.credentials_from == "the inbox URL"
    with pytest.raises(ValueError, match="absolute/path") as no_path:
        SftpInbox(f"sftp://{USER}:secret-word@127.0.0.1:{server.port}")
    assert "secret-word" not in str(no_path.value)


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


def test_a_missing_connection_is_named(server: SftpServer) -> None:
    with pytest.raises(SftpInboxError, match=r"connection 'no_such_conn' .* not defined"):
        sftp_inbox(f"sftp://127.0.0.1:{server.port}/inbox?conn_id=no_such_conn")


def test_bad_credentials_fail_clearly_without_showing_the_password(server: SftpServer) -> None:
    inbox = sftp_inbox(server.url(password="wrong-password-42"))
    with pytest.raises(SftpInboxError, match="login refused") as failure:
        inbox.folders()
    message = str(failure.value)
    assert f"sftp://127.0.0.1:{server.port}/inbox" in message
    assert repr(USER) in message
    assert "credentials from the inbox URL" in message
    assert "wrong-password-42" not in message
    assert PASSWORD not in message


def test_an_unknown_server_is_refused(server: SftpServer) -> None:
    location = f"sftp://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{server.port}/inbox"  # no host_key
    with pytest.raises(SftpInboxError, match="host_key"):
        sftp_inbox(location).folders()
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    with pytest.raises(SftpInboxError, match="host key other than"):
        sftp_inbox(f"{location}?host_key={quote(other, safe='')}").folders()


def test_write_bytes_uploads_to_a_temporary_name_then_renames(server: SftpServer) -> None:
    first, second = render("POLICY", POLICY_ROWS[:1], "gb18030"), render("POLICY", POLICY_ROWS, "gb18030")
    server.ops.clear()
    with sftp_inbox(server.url()) as inbox:
        assert inbox.write_bytes("CALLS/out/D001_20261121.csv", first) == InboxFile(
            "CALLS/out", "D001_20261121.csv", len(first)
        )  # folders created as needed
        inbox.write_bytes("CALLS/out/D001_20261121.csv", second)  # replaces the file
        with pytest.raises(ValueError, match="not a file path inside the inbox"):
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
    inbox = LocalInbox(str(tmp_path))
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
    with pytest.raises(ValueError, match="not a file path inside the inbox"):
        inbox.write_bytes("/etc/passwd", b"x")


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
        assert [o.status for o in again] == ["duplicate"]  # same bytes: skipped
        with conn.cursor() as cur:
            cur.execute("select record->>'保单号', record->>'被保险人', source from raw.insurer_policies order by 1")
            source = f"sftp://127.0.0.1:{server.port}/inbox/PICC/POLICY_PICC_20261120.csv"
            assert cur.fetchall() == sorted((r[0], r[3], source) for r in POLICY_ROWS)
            cur.execute("select record->>'报案号', record->>'案件状态' from raw.insurer_claims order by 1")
            assert cur.fetchall() == sorted((r[0], r[7]) for r in CLAIM_ROWS)
            cur.execute("select folder, name, status, encoding, size_bytes, redeliveries from etl.files order by 1")
            assert cur.fetchall() == [
                ("CPIC", "CLAIM_CPIC_20261120.csv", "loaded", "utf-8-sig", len(CLAIM), 0),
                ("PICC", "POLICY_PICC_20261120.csv", "loaded", "gb18030", len(POLICY), 1),
            ]
            cur.execute("select count(*) from raw.insurer_policies where source like %s", (f"%{PASSWORD}%",))
            assert cur.fetchone()[0] == 0
    finally:
        conn.close()
