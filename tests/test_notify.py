"""A failed run notifies through the connection ``baoke_alerts`` (outputs.md §4): an
e-mail through a real local SMTP server here (the webhook, through a whole failing DAG
run, is in test_feed_health.py)."""

from __future__ import annotations

import asyncore
import email
import json
import smtpd
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from baoke.orchestration.notify import FailureNotifier

pytestmark = pytest.mark.slow  # Airflow's SMTP provider and connections


class MailServer(smtpd.SMTPServer):
    """A real SMTP server on 127.0.0.1 keeping what it receives."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), None)
        self.port = self.socket.getsockname()[1]
        self.received: list[tuple[str, list[str], email.message.Message]] = []
        self.thread = threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.1}, daemon=True)

    def process_message(self, peer: Any, mailfrom: str, rcpttos: list[str], data: bytes | str, **kwargs: Any) -> None:
        raw = data if isinstance(data, bytes) else data.encode()
        self.received.append((mailfrom, rcpttos, email.message_from_bytes(raw)))


def failed_run_context() -> dict[str, Any]:
    """What Airflow hands a DAG's failure callback (the parts the notifier reads)."""
    return {
        "dag": SimpleNamespace(dag_id="baoke_dms"),
        "run_id": "manual__2026-11-20T01:00:00+08:00",
        "dag_run": SimpleNamespace(conf={"business_date": "2026-11-20"}),
        "reason": "task_failure",
        "ti": SimpleNamespace(task_id="dealer_records"),
    }


def test_a_failed_run_is_emailed_through_an_smtp_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    server = MailServer()
    server.thread.start()
    try:
        connection = {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": server.port,
            "extra": {
                "from_email": "baoke@example.com",
                "to": "data-team@example.com, ops@example.com",
                "disable_ssl": True,
                "disable_tls": True,
            },
        }
        monkeypatch.setenv("AIRFLOW_CONN_BAOKE_ALERTS", json.dumps(connection))
        FailureNotifier()(failed_run_context())
    finally:
        server.close()
    [(sender, recipients, message)] = server.received
    assert sender == "baoke@example.com"
    assert recipients == ["data-team@example.com", "ops@example.com"]
    assert message["Subject"] == "Baoke: baoke_dms failed for 2026-11-20"
    body = next(part for part in message.walk() if part.get_content_type() == "text/html").get_payload(decode=True)
    assert "Baoke: baoke_dms failed for business date 2026-11-20" in body.decode()


def test_without_the_connection_nothing_is_sent_and_an_unusable_one_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_BAOKE_ALERTS", raising=False)
    assert FailureNotifier().notify(failed_run_context()) is None, "alerts are off by default"
    monkeypatch.setenv("AIRFLOW_CONN_BAOKE_ALERTS", "ftp://alerts.example.com")
    with pytest.raises(ValueError, match="'baoke_alerts' has conn_type 'ftp': make it http/https"):
        FailureNotifier().notify(failed_run_context())
    monkeypatch.setenv("AIRFLOW_CONN_BAOKE_ALERTS", "smtp://mail.example.com:25")
    with pytest.raises(ValueError, match="without recipients: set its extra 'to'"):
        FailureNotifier().notify(failed_run_context())
