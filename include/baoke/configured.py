"""What is configured must exist (docs/feeds.md §5): "A configured folder, connection or
feed that does not exist is an error naming it, not an empty success."

An inbox that is not there reads as an inbox with no files: the run would succeed having
loaded nothing, and a typo in ``INSURER_INBOX`` would go unnoticed for weeks. So:

- a folder setting given in the environment (``INSURER_INBOX``, ``CALLCENTER_INBOX``,
  ``OUTBOUND_DIR``) must name an existing folder (or an existing folder on the SFTP
  server); otherwise ``MissingConfiguration`` names the setting and the path. The
  defaults under ``.baoke/`` are the platform's own and are created on first use, so
  that a fresh clone works with nothing set (``baoke.config``);
- a feed connection (``dms_api``, ``oem_api``) that Airflow does not know is
  ``MissingConfiguration`` naming the connection and how to define it.

``MissingConfiguration`` is permanent: retrying does not create a folder. The DAG layer
fails the task at once on it (``baoke.orchestration.tasks``), and ``preflight()`` lists
every such problem before ``baoke run`` starts Airflow at all.
"""

from __future__ import annotations

from pathlib import Path

from baoke.config import FOLDER_ENV, Settings, conn_env_name, get_settings
from baoke.connections import HttpEndpoint, http_endpoint
from baoke.filedrop import FileDrop, is_sftp, open_drop, public_location

#: The feed connections a daily run needs, and how to define each (docs/feeds.md).
FEED_CONNECTIONS: dict[str, str] = {
    "dms_api": "an HTTP connection with login = client id, password = client secret, e.g. "
    "AIRFLOW_CONN_DMS_API='http://CLIENT_ID:CLIENT_SECRET@dms.example.com:8443/https' "
    "or `airflow connections add dms_api --conn-type http --conn-host ... --conn-login ... --conn-password ...`",
    "oem_api": "an HTTP connection with password = API key, e.g. "
    "AIRFLOW_CONN_OEM_API='http://:API_KEY@oem.example.com:443/https' "
    "or `airflow connections add oem_api --conn-type http --conn-host ... --conn-password ...`",
}


class MissingConfiguration(RuntimeError):
    """A configured folder or connection that does not exist (the message names it and
    says how to fix it). Permanent: a retry cannot make it appear."""


def configured_folder(env_name: str, settings: Settings | None = None) -> str | None:
    """The location ``env_name`` is set to in the environment, or None if it is unset
    (then the default under ``.baoke/`` applies)."""
    settings = settings or get_settings()
    value: str | None = getattr(settings, env_name.lower())
    return value or None


def missing_folder(env_name: str, settings: Settings | None = None) -> str | None:
    """Why the configured local folder ``env_name`` cannot be used, or None. An unset
    setting is never missing (its default is created), and an ``sftp://`` location is
    only checked when it is opened (that needs a session with the server)."""
    location = configured_folder(env_name, settings)
    if location is None or is_sftp(location):
        return None
    if not Path(location).is_dir():
        return _missing(env_name, location)
    return None


def _missing(env_name: str, location: str) -> str:
    return (
        f"{env_name} is set to {public_location(location)}, which does not exist (or is not a folder): "
        f"create it, or set {env_name} to the right folder or sftp:// location"
    )


def open_folder(env_name: str) -> FileDrop:
    """The drop ``env_name`` names, known to exist (close it after use). The default
    folder is created; a configured one that is missing raises ``MissingConfiguration``."""
    settings = get_settings()
    location = settings.folder(env_name)
    if configured_folder(env_name, settings) is None:
        Path(location).mkdir(parents=True, exist_ok=True)
        return open_drop(location)
    drop = open_drop(location)
    try:
        exists = drop.root_exists()
    except BaseException:
        drop.close()
        raise
    if not exists:
        drop.close()
        raise MissingConfiguration(_missing(env_name, location))
    return drop


def missing_connection(conn_id: str) -> str | None:
    """Why the Airflow connection ``conn_id`` cannot be found, or None if Airflow has it."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    from baoke.connections import get_connection

    try:
        get_connection(conn_id)
    except AirflowNotFoundException:
        if _in_metadata_db(conn_id):
            return None
        hint = FEED_CONNECTIONS.get(conn_id, f"set {conn_env_name(conn_id)} or add it with `airflow connections add`")
        return f"Airflow connection {conn_id!r} is not defined: define it as {hint}"
    return None


def _in_metadata_db(conn_id: str) -> bool:
    """Whether Airflow's own database holds ``conn_id`` (``airflow connections add``).
    Outside a task (``baoke run``'s preflight) the Task SDK reads only the environment
    and secrets backends; Airflow's core model reads the database too. Inside a task
    under a real executor the database is not reachable that way: not found."""
    try:
        from airflow.models.connection import Connection

        Connection.get_connection_from_secrets(conn_id)
    except Exception:  # not found, or no database access from here
        return False
    return True


def feed_endpoint(conn_id: str) -> HttpEndpoint:
    """The HTTP feed connection ``conn_id``; ``MissingConfiguration`` if it is not defined."""
    problem = missing_connection(conn_id)
    if problem:
        raise MissingConfiguration(problem)
    return http_endpoint(conn_id)


def preflight(settings: Settings | None = None) -> list[str]:
    """Every configured folder and feed connection that does not exist, one line each
    (empty: a run can start). For ``baoke run``, before it starts Airflow; the tasks
    check the same again (and the ``sftp://`` folders, which need a session)."""
    settings = settings or get_settings()
    problems = [problem for name in FOLDER_ENV if (problem := missing_folder(name, settings))]
    problems += [problem for conn_id in FEED_CONNECTIONS if (problem := missing_connection(conn_id))]
    return problems
