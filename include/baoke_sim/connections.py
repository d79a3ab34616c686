"""The Airflow connections that point the platform at the simulated feeds, written in
the form a data engineer's ``airflow connections add --conn-type http --conn-schema
<scheme>`` gives (``http://login:password@host:port/<scheme>``), so every demo, replay
and test run exercises Airflow's HTTP convention: ``schema`` is the URL scheme."""

from __future__ import annotations

from urllib.parse import urlsplit

from baoke.config import conn_env_name
from baoke_sim.dms_api import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from baoke_sim.oem_api import DEFAULT_API_KEY


def http_connection_uri(base_url: str, login: str, password: str) -> str:
    """The ``AIRFLOW_CONN_*`` URI of an HTTP connection to ``base_url``, as Airflow writes
    it (``Connection.get_uri``)."""
    from airflow.sdk import Connection

    url = urlsplit(base_url)
    conn = Connection(
        conn_id="simulated",
        conn_type="http",
        host=url.hostname,
        port=url.port,
        schema=url.scheme,
        login=login,
        password=password,
    )
    return conn.get_uri()


def feed_connections(dms_url: str, oem_url: str) -> dict[str, str]:
    """``AIRFLOW_CONN_DMS_API`` and ``AIRFLOW_CONN_OEM_API`` for simulated APIs served at
    these base URLs."""
    return {
        conn_env_name("dms_api"): http_connection_uri(dms_url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        conn_env_name("oem_api"): http_connection_uri(oem_url, "", DEFAULT_API_KEY),
    }
