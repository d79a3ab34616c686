"""The feeds' HTTP connections in every form a data engineer makes them (docs/feeds.md,
"Where each feed is configured"), read as Airflow's HTTP provider reads them: ``schema``
is the URL scheme, never a path, and a full-URL ``host`` is the base URL.

Each form is used for real: a token and a listing from the simulated DMS, served over
HTTPS (a self-signed certificate the client trusts through ``REQUESTS_CA_BUNDLE``) or
plain HTTP. Reading ``schema`` as a path again would send ``POST /https/oauth/token`` and
get a 404.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from baoke.connections import http_endpoint
from baoke.extract.dms import DmsClient
from baoke_sim.dms_api import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DmsApi
from baoke_sim.servers import ApiServer
from extract_support import world_at


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return world_at(tmp_path_factory.mktemp("connections") / "world.sqlite", "2026-11-20T06:00:00+08:00")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert, key)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def https_dms(world: Path, certificate: tuple[Path, Path]) -> Iterator[ApiServer]:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(*certificate)
    with ApiServer(DmsApi(world), tls=tls) as server:
        yield server


@pytest.fixture(scope="module")
def http_dms(world: Path) -> Iterator[ApiServer]:
    with ApiServer(DmsApi(world)) as server:
        yield server


def dealers_through(conn_value: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list]:
    """Configure ``dms_api`` as ``conn_value`` and list the dealers through it."""
    monkeypatch.setenv("AIRFLOW_CONN_DMS_API", conn_value)
    endpoint = http_endpoint("dms_api")
    client = DmsClient(endpoint.base_url, endpoint.login, endpoint.password, timeout=5, retries=0)
    records = [record for _, page in client.pages("dealers", 100) for record, _ in page]
    return endpoint.base_url, records


def json_connection(**fields: object) -> str:
    return json.dumps({"conn_type": "http", "login": DEFAULT_CLIENT_ID, "password": DEFAULT_CLIENT_SECRET, **fields})


@pytest.mark.parametrize(
    "form",
    ["uri with schema https", "json with schema https", "json with a full-URL host"],
)
def test_an_https_connection_in_each_form_reaches_the_dms(
    form: str, https_dms: ApiServer, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    port = https_dms.port
    value = {
        # what `airflow connections add dms_api --conn-type http --conn-schema https ...`
        # stores, as `airflow connections get -o json` prints its URI
        "uri with schema https": f"http://{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}@127.0.0.1:{port}/https",
        "json with schema https": json_connection(host="127.0.0.1", port=port, schema="https"),
        "json with a full-URL host": json_connection(host=f"https://127.0.0.1:{port}"),
    }[form]
    base_url, dealers = dealers_through(value, monkeypatch)
    assert base_url == f"https://127.0.0.1:{port}"
    assert dealers, "the token and the listing came back over HTTPS"
    assert {d["dealer_code"] for d in dealers} >= {"D001"}


def test_without_a_schema_the_scheme_is_http(http_dms: ApiServer, monkeypatch: pytest.MonkeyPatch):
    base_url, dealers = dealers_through(
        f"http://{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}@127.0.0.1:{http_dms.port}", monkeypatch
    )
    assert base_url == f"http://127.0.0.1:{http_dms.port}"
    assert dealers


def test_a_full_url_host_keeps_its_path(monkeypatch: pytest.MonkeyPatch):
    """``https://dms.example.com/api`` is the base URL: the API's paths go under it."""
    monkeypatch.setenv("AIRFLOW_CONN_DMS_API", json_connection(host="https://dms.example.com/api"))
    assert http_endpoint("dms_api").base_url == "https://dms.example.com/api"


def test_schema_is_never_read_as_a_path(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIRFLOW_CONN_OEM_API", "http://:key@oem.example.com:8443/https")
    endpoint = http_endpoint("oem_api")
    assert endpoint.base_url == "https://oem.example.com:8443"
    assert endpoint.password == "key"


@pytest.mark.slow
def test_the_connection_cli_stores_what_the_platform_reads(tmp_path: Path):
    """`airflow connections add --conn-type http --conn-schema https` (the HTTP provider is
    installed, so the type is known and the UI offers its form) keeps the scheme in
    ``schema``; its URI is the form tested above."""
    import os
    import subprocess
    import sys

    airflow = Path(sys.executable).with_name("airflow")
    env = {
        # not a connection another test of this worker left in the environment: the CLI
        # would read it before the one stored here
        **{name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW_CONN_")},
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path}/a.db",
    }
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    subprocess.run(
        [str(airflow), "connections", "add", "dms_api", "--conn-type", "http", "--conn-host", "dms.example.com",
         "--conn-port", "8443", "--conn-schema", "https", "--conn-login", "id", "--conn-password", "s3cret"],
        env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    stored = subprocess.run(
        [str(airflow), "connections", "get", "dms_api", "-o", "json"],
        env=env, check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    (conn,) = json.loads(stored.stdout[stored.stdout.index("[") :])
    assert (conn["conn_type"], conn["schema"]) == ("http", "https")
    assert conn["get_uri"] == "http://id:s3cret@dms.example.com:8443/https"
