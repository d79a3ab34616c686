"""Nothing phones home (the platform holds personal data), and the README's two
commands are the ones the Makefile and CI run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from baoke.config import NO_TELEMETRY_ENV

ROOT = Path(__file__).resolve().parents[1]


def test_the_makefile_exports_the_no_telemetry_environment():
    makefile = (ROOT / "Makefile").read_text()
    for name, value in NO_TELEMETRY_ENV.items():
        assert re.search(rf"^export {name} := {re.escape(value)}$", makefile, re.M), name


def test_the_readme_documents_the_no_telemetry_environment():
    readme = (ROOT / "README.md").read_text()
    for name, value in NO_TELEMETRY_ENV.items():
        assert f"{name}={value}" in readme, name


@pytest.mark.slow  # imports Airflow and Cosmos in a fresh interpreter
def test_the_cli_switches_telemetry_off_even_in_a_bare_environment():
    code = (
        "import json, os, baoke.cli\n"
        "from cosmos import telemetry\n"
        f"env = {{k: os.environ.get(k) for k in {list(NO_TELEMETRY_ENV)!r}}}\n"
        "print('RESULT', json.dumps({'env': env, 'emit': telemetry.should_emit()}))"
    )
    bare = {k: v for k, v in os.environ.items() if k not in NO_TELEMETRY_ENV and not k.startswith("AIRFLOW__COSMOS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=bare, check=True).stdout
    result = json.loads(out.split("RESULT ", 1)[1])
    assert result["env"] == NO_TELEMETRY_ENV
    assert result["emit"] is False, "Cosmos would emit telemetry"


def test_the_test_session_runs_without_telemetry():
    for name, value in NO_TELEMETRY_ENV.items():
        assert os.environ.get(name) == value, name


def test_ci_runs_exactly_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"^make test\b", readme, re.M), "README names `make test`"
    commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))
    ]
    assert commands == ["make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: .*\n\t\$\(BIN\)/pytest \$\(XDIST\)$", makefile, re.M), "the suite, on its workers"


def test_requirements_are_pinned_and_constrained():
    lines = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    constraints = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    assert lines
    for line in lines:
        name, _, version = line.partition("==")
        assert version, f"{line}: pin with =="
        assert constraints.get(name.lower().replace("_", "-")) == version, f"{line}: differs from constraints.txt"
    assert re.match(r"^1\.11\.", constraints["dbt-core"]), "dbt-core must stay on 1.11.x"
    assert re.match(r"^3\.3\.", constraints["apache-airflow"])
