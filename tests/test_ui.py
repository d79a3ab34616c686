"""`baoke ui` really serves the Airflow UI and API with the project's DAGs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

BAOKE = str(Path(sys.executable).with_name("baoke"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(check, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (requests.RequestException, OSError, ValueError, KeyError):
            pass
        time.sleep(1)
    raise TimeoutError(f"gave up after {seconds}s")


@pytest.mark.slow
def test_ui_serves_the_projects_dags(warehouse_env: str, manifest: Path, tmp_path: Path):
    port = _free_port()
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow")}
    proc = subprocess.Popen(
        [BAOKE, "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        version = _wait_for(lambda: requests.get(f"{base}/api/v2/version", timeout=2).json(), 150)
        assert version["version"].startswith("3.3.")
        passwords = tmp_path / "airflow" / "simple_auth_manager_passwords.json.generated"
        user, password = next(iter(_wait_for(lambda: json.loads(passwords.read_text()), 30).items()))
        token = requests.post(f"{base}/auth/token", json={"username": user, "password": password}, timeout=5).json()[
            "access_token"
        ]

        def dag_ids():
            reply = requests.get(f"{base}/api/v2/dags", headers={"Authorization": f"Bearer {token}"}, timeout=5)
            return {d["dag_id"] for d in reply.json()["dags"]} or None

        assert "baoke_warehouse" in _wait_for(dag_ids, 90)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
