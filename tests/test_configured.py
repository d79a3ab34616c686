"""A configured folder, connection or feed that does not exist is an error naming it, not
an empty success (docs/feeds.md §5); ``preflight()`` lists every such problem before
``baoke run`` starts Airflow."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from baoke import configured
from baoke.configured import MissingConfiguration
from baoke.extract import jobs
from test_extract_sftp import SftpServer

D = dt.date(2026, 11, 20)


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No folder setting and no feed connection in the environment; BAOKE_HOME of its own."""
    for name in ("INSURER_INBOX", "CALLCENTER_INBOX", "OUTBOUND_DIR", "AIRFLOW_CONN_DMS_API", "AIRFLOW_CONN_OEM_API"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BAOKE_HOME", str(tmp_path / "home"))
    return tmp_path


def test_a_missing_configured_inbox_is_an_error_naming_the_setting_and_the_path(unset: Path, monkeypatch) -> None:
    missing = unset / "typo" / "insurer"
    monkeypatch.setenv("INSURER_INBOX", str(missing))
    with pytest.raises(
        MissingConfiguration, match=f"^INSURER_INBOX is set to {re.escape(str(missing))}, which does not exist"
    ):
        jobs.insurer_folders()
    monkeypatch.setenv("CALLCENTER_INBOX", str(unset / "nowhere"))
    with pytest.raises(MissingConfiguration, match=r"CALLCENTER_INBOX is set to .*/nowhere, which does not exist"):
        jobs.callcenter_files(D)
    (unset / "a-file").write_text("not a folder")
    monkeypatch.setenv("INSURER_INBOX", str(unset / "a-file"))
    with pytest.raises(MissingConfiguration, match="INSURER_INBOX"):
        jobs.insurer_folders()


def test_an_existing_inbox_and_the_default_folders_are_fine(unset: Path, monkeypatch) -> None:
    """The defaults under .baoke/ are the platform's own: created on first use, so that a
    fresh clone runs with nothing set (an empty inbox then reads as empty)."""
    assert jobs.insurer_folders() == []
    assert (unset / "home" / "inbox" / "insurer").is_dir()
    (unset / "inbox" / "PICC").mkdir(parents=True)
    monkeypatch.setenv("INSURER_INBOX", str(unset / "inbox"))
    assert jobs.insurer_folders() == ["PICC"]


def test_a_missing_folder_on_the_sftp_server_is_an_error_naming_it(unset: Path, monkeypatch) -> None:
    (unset / "sftp").mkdir()
    (unset / "sftp" / "inbox").mkdir()
    server = SftpServer(unset / "sftp").start()
    try:
        monkeypatch.setenv("INSURER_INBOX", server.url("/inbox"))
        assert jobs.insurer_folders() == []
        monkeypatch.setenv("INSURER_INBOX", server.url("/inbox-typo"))
        with pytest.raises(MissingConfiguration) as raised:
            jobs.insurer_folders()
        message = str(raised.value)
        assert message.startswith(f"INSURER_INBOX is set to sftp://127.0.0.1:{server.port}/inbox-typo, which does not")
        assert "password" not in message.lower()
    finally:
        server.stop()


def test_a_missing_feed_connection_is_named_with_how_to_define_it(unset: Path) -> None:
    with pytest.raises(MissingConfiguration) as raised:
        jobs.dms_group(D)
    assert str(raised.value).startswith(
        "Airflow connection 'dms_api' is not defined: define it as an HTTP connection with login = client id"
    )
    assert "AIRFLOW_CONN_DMS_API=" in str(raised.value)
    with pytest.raises(MissingConfiguration, match=r"'oem_api' is not defined.*password = API key"):
        jobs.oem_lists("D001", D)


def test_preflight_lists_every_missing_folder_and_connection(unset: Path, monkeypatch) -> None:
    monkeypatch.setenv("OUTBOUND_DIR", str(unset / "no-outbound"))
    monkeypatch.setenv("CALLCENTER_INBOX", str(unset))  # exists
    monkeypatch.setenv("INSURER_INBOX", "sftp://127.0.0.1:1/inbox")  # checked when opened, not here
    problems = configured.preflight()
    assert [p.split(" ", 1)[0] for p in problems] == ["OUTBOUND_DIR", "Airflow", "Airflow"]
    assert problems[0] == (
        f"OUTBOUND_DIR is set to {unset}/no-outbound, which does not exist (or is not a folder): "
        "create it, or set OUTBOUND_DIR to the right folder or sftp:// location"
    )
    assert "'dms_api' is not defined" in problems[1]
    assert "'oem_api' is not defined" in problems[2]

    monkeypatch.setenv("OUTBOUND_DIR", str(unset))
    monkeypatch.setenv("AIRFLOW_CONN_DMS_API", "http://id:secret@dms.example.com:443/https")
    monkeypatch.setenv("AIRFLOW_CONN_OEM_API", "http://:key@oem.example.com:443/https")
    assert configured.preflight() == [], "a run can start"
