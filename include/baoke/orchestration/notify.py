"""A failed daily run notifies (outputs.md §4) through the Airflow connection
``baoke_alerts``, off by default: without that connection nothing is sent.

The connection's type says how:

- ``http`` / ``https``: a webhook. The JSON message (below) is POSTed to the connection's
  URL, read as the HTTP provider reads every HTTP connection (docs/feeds.md: ``host`` a
  host name or a whole URL, path included; ``schema`` the URL scheme; login and password,
  if any, as basic auth)::

      AIRFLOW_CONN_BAOKE_ALERTS='{"conn_type": "http", "host": "https://hooks.example.com/services/T0/B0"}'

- ``smtp`` / ``email``: an e-mail through the SMTP provider's hook (host, port, login,
  password and its extras: ``from_email``, ``disable_ssl``, ``disable_tls``, ...), to the
  addresses in the extra ``to`` (comma-separated)::

      AIRFLOW_CONN_BAOKE_ALERTS='smtp://alerts:PASSWORD@mail.example.com:465/?from_email=baoke%40example.com&to=data-team%40example.com'

The message: ``{"dag_id", "run_id", "business_date", "failed_tasks", "reason", "text"}``,
``text`` being the same as one line a person reads (the e-mail's body).

It is every Baoke DAG's ``on_failure_callback`` (``defaults.DAG_KWARGS``). Airflow runs a
DAG's callbacks in the DAG processor (or in-process under ``dag.test()``, which is what
``baoke run`` uses); a failing notification is logged by Airflow and changes nothing else.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from airflow.sdk import BaseNotifier

from baoke.dates import business_date_from_context

log = logging.getLogger(__name__)

ALERTS_CONN_ID = "baoke_alerts"
WEBHOOK_TYPES = frozenset({"http", "https"})
EMAIL_TYPES = frozenset({"smtp", "email"})
TIMEOUT_SECONDS = 30


def alerts_connection() -> Any | None:
    """The ``baoke_alerts`` connection, or None when it is not defined (alerts off)."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    from baoke.connections import get_connection

    try:
        return get_connection(ALERTS_CONN_ID)
    except AirflowNotFoundException:
        return None


FAILED = ("failed", "upstream_failed")


def _failed_tasks(context: Any) -> list[str]:
    """The run's failed tasks. In the DAG processor the callback asks Airflow's API, as a
    task does; under ``dag.test()`` it runs in the process that holds Airflow's database
    session instead, and reads the task instances there; failing both, the task that
    failed last (the callback's ``ti``)."""
    dag_id = str(getattr(context.get("dag"), "dag_id", ""))
    run_id = str(context.get("run_id"))
    try:
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        states = RuntimeTaskInstance.get_task_states(dag_id=dag_id, run_ids=[run_id]).get(run_id, {})
        return sorted(task for task, state in states.items() if str(state) in FAILED)
    except Exception:  # no channel to Airflow's API in this process
        pass
    try:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            rows = session.execute(
                select(TaskInstance.task_id, TaskInstance.map_index).where(
                    TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.state.in_(FAILED)
                )
            ).all()
        return sorted({task_id if index < 0 else f"{task_id}_{index}" for task_id, index in rows})
    except Exception:  # no database session either
        ti = context.get("ti")
        return [ti.task_id] if ti is not None else []


def failure_message(context: Any) -> dict[str, Any]:
    """What a failed run's notification says (the webhook's JSON, the e-mail's body)."""
    dag = context.get("dag")
    dag_id = getattr(dag, "dag_id", None) or context.get("dag_id")
    try:
        business_date: str | None = business_date_from_context(context).isoformat()
    except (ValueError, AttributeError):
        business_date = None
    failed = _failed_tasks(context)
    text = (
        f"Baoke: {dag_id} failed for business date {business_date or '(unknown)'} (run {context.get('run_id')}); "
        f"failed tasks: {', '.join(failed) or '(none recorded)'}"
    )
    return {
        "dag_id": dag_id,
        "run_id": context.get("run_id"),
        "business_date": business_date,
        "failed_tasks": failed,
        "reason": context.get("reason"),
        "text": text,
    }


def post_webhook(message: dict[str, Any]) -> None:
    """POST ``message`` as JSON to ``baoke_alerts``; an answer other than 2xx/3xx raises."""
    from airflow.providers.http.hooks.http import HttpHook

    HttpHook(method="POST", http_conn_id=ALERTS_CONN_ID).run(
        json=message, extra_options={"timeout": TIMEOUT_SECONDS, "check_response": True}
    )


def send_email(connection: Any, message: dict[str, Any]) -> None:
    """E-mail ``message`` through ``baoke_alerts`` to its extra ``to``."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    recipients = [a.strip() for a in str(connection.extra_dejson.get("to") or "").split(",") if a.strip()]
    if not recipients:
        raise ValueError(
            f"connection {ALERTS_CONN_ID!r} is an e-mail connection without recipients: set its extra 'to'"
        )
    subject = f"Baoke: {message['dag_id']} failed for {message['business_date'] or 'a run'}"
    with SmtpHook(smtp_conn_id=ALERTS_CONN_ID) as smtp:
        smtp.send_email_smtp(to=recipients, subject=subject, html_content=f"<pre>{html.escape(message['text'])}</pre>")


class FailureNotifier(BaseNotifier):
    """Notify a failed DAG run through ``baoke_alerts`` (see the module docstring)."""

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        """Nothing to render: this notifier has no template fields. (Airflow's own asks the
        context's DAG for a Jinja environment, which under ``dag.test()`` is a
        SerializedDAG without one: apache/airflow#64649, open in 3.3.)"""

    def notify(self, context: Any) -> None:
        connection = alerts_connection()
        if connection is None:
            log.info("no connection %r: failure alerts are off", ALERTS_CONN_ID)
            return
        message = failure_message(context)
        if connection.conn_type in WEBHOOK_TYPES:
            post_webhook(message)
        elif connection.conn_type in EMAIL_TYPES:
            send_email(connection, message)
        else:
            raise ValueError(
                f"connection {ALERTS_CONN_ID!r} has conn_type {connection.conn_type!r}: "
                "make it http/https (a webhook) or smtp (an e-mail)"
            )
        log.info("failure of %s notified through %r", message["dag_id"], ALERTS_CONN_ID)
