"""Static checks of the container setup: docker-compose.yml, Dockerfile, .dockerignore
and .env.example.

No Docker engine and no network: the files are parsed and checked against the Airflow 3
docker-compose conventions and against the names Baoke's code reads (baoke.config).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

try:
    import baoke.config  # noqa: F401  (normally installed: pip install -e .)
except ImportError:
    sys.path.insert(0, str(ROOT / "include"))

from baoke.config import CONNECTION_IDS, FOLDER_ENV, NO_TELEMETRY_ENV, conn_env_name  # noqa: E402

COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"

#: The services of the official Airflow 3 docker-compose.yaml (CeleryExecutor).
AIRFLOW_DOC_SERVICES = (
    "postgres",
    "redis",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
)
#: The Airflow components among them (they run the project image).
AIRFLOW_COMPONENTS = tuple(s for s in AIRFLOW_DOC_SERVICES if s.startswith("airflow-"))
#: Long-running Airflow components (everything but the one-shot airflow-init).
LONG_RUNNING = tuple(s for s in AIRFLOW_COMPONENTS if s != "airflow-init")

EXECUTION_API_URL = "http://airflow-apiserver:8080/execution/"


# --- helpers ----------------------------------------------------------------------------

# A compose interpolation: "$$" is an escaped dollar (left to the container's shell);
# "${NAME...}" and "$NAME" read NAME from the shell or .env.
_INTERPOLATION = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")
_WITH_DEFAULT = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


def compose_variables(text: str) -> set[str]:
    """The names of the variables a compose file interpolates."""
    return {m.group(1) or m.group(2) for m in _INTERPOLATION.finditer(text) if m.group(0) != "$$"}


def with_defaults(value: str) -> str:
    """A compose value as it is when no variable is set: every ${NAME:-default} replaced
    by its default (empty if none), "$$" by "$"."""
    return _WITH_DEFAULT.sub(lambda m: m.group(2) or "", str(value)).replace("$$", "$")


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def airflow_services(compose, services) -> dict:
    """The services running the project image (those built from x-airflow-common)."""
    image = compose["x-airflow-common"]["image"]
    return {name: svc for name, svc in services.items() if svc.get("image") == image}


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the "- KEY=value" form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def volume_mounts(service: dict) -> list[tuple[str, str, str]]:
    """(source, target, mode) of each volume, the short or the long syntax."""
    mounts = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            mode = "ro" if volume.get("read_only") else "rw"
            mounts.append((str(volume.get("source", "")), volume["target"], mode))
        else:
            parts = with_defaults(volume).split(":")
            if len(parts) == 1:  # anonymous volume
                parts = ["", parts[0]]
            mounts.append((parts[0], parts[1], parts[2] if len(parts) > 2 else "rw"))
    return mounts


def healthcheck_command(service: dict) -> str:
    test = (service.get("healthcheck") or {}).get("test") or []
    return " ".join(test) if isinstance(test, list) else str(test)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\s*\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, args = line.partition(" ")
            instructions.append((keyword.upper(), args.strip()))
    return instructions


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, args in dockerfile_instructions():
        if keyword == "ENV":
            env.update(dict(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\S*)", args)))
    return {k: v.strip('"') for k, v in env.items()}


def pinned(package: str) -> str:
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        m = re.match(rf"\s*{re.escape(package)}\s*==\s*([^\s;#]+)", line, re.IGNORECASE)
        if m:
            return m.group(1)
    raise AssertionError(f"{package} is not pinned with == in requirements.txt")


# --- docker-compose.yml: structure --------------------------------------------------------


def test_compose_file_parses(compose):
    assert isinstance(compose, dict)
    assert isinstance(compose.get("services"), dict)
    assert compose["services"]
    assert isinstance(compose.get("x-airflow-common"), dict), "the x-airflow-common anchor is missing"


@pytest.mark.parametrize("name", [*AIRFLOW_DOC_SERVICES, "warehouse"])
def test_required_service_present(services, name):
    assert name in services


def test_airflow_components_run_the_image_built_from_the_dockerfile(compose, airflow_services):
    common = compose["x-airflow-common"]
    build = common.get("build")
    context = build if isinstance(build, str) else (build or {}).get("context")
    dockerfile = "Dockerfile" if isinstance(build, str) else (build or {}).get("dockerfile", "Dockerfile")
    assert context is not None, "x-airflow-common must build the image"
    assert (ROOT / context / dockerfile).resolve() == DOCKERFILE.resolve()
    missing = set(AIRFLOW_COMPONENTS) - set(airflow_services)
    assert not missing, f"not running the project image: {sorted(missing)}"
    for name, service in airflow_services.items():
        assert service.get("build") == build, f"{name} builds a different image"
        assert service.get("user") == "${AIRFLOW_UID:-50000}:0" or name == "airflow-init", name


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("airflow-apiserver", "api-server"),
        ("airflow-scheduler", "scheduler"),
        ("airflow-dag-processor", "dag-processor"),
        ("airflow-worker", "celery worker"),
        ("airflow-triggerer", "triggerer"),
    ],
)
def test_component_command(services, name, command):
    assert services[name]["command"] == command


# --- docker-compose.yml: Airflow environment ----------------------------------------------


#: Secrets every component must share, read from a file airflow-init generates.
SHARED_SECRETS = {"AIRFLOW__API_AUTH__JWT_SECRET": "jwt_secret", "AIRFLOW__API__SECRET_KEY": "api_secret_key"}


@pytest.mark.parametrize(("option", "file"), SHARED_SECRETS.items())
def test_every_component_reads_the_secret_airflow_init_generates(airflow_services, services, option, file):
    """No secret is a default shared by every copy of the file: each deployment's
    airflow-init generates its own, and every component reads it (Airflow's `_CMD`)."""
    for name, service in airflow_services.items():
        env = environment(service)
        assert option not in env, f"{name}: {option} has a value in the compose file"
        assert env.get(f"{option}_CMD") == f"cat /opt/airflow/auth/{file}", name
        assert ("airflow-auth", "/opt/airflow/auth", "rw") in volume_mounts(service), name
    script = "\n".join(services["airflow-init"]["command"])
    assert "for secret in jwt_secret api_secret_key" in script
    assert "/dev/urandom" in script
    # generated before the volume is given to the components' user
    assert script.index("/dev/urandom") < script.index('chown -R "${AIRFLOW_UID:-50000}:0" /opt/airflow/logs')
    assert option not in ENV_EXAMPLE.read_text(encoding="utf-8")


def test_airflow_logs_in_with_roles(airflow_services, services):
    """The FAB auth manager (users and roles in Airflow's database), not the simple one
    (every user an admin); airflow-init creates the first Admin."""
    fab = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
    for name, service in airflow_services.items():
        env = environment(service)
        assert env.get("AIRFLOW__CORE__AUTH_MANAGER") == fab, name
        assert not any(k.startswith("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER") for k in env), name
    assert environment(services["airflow-init"]).get("_AIRFLOW_WWW_USER_CREATE") == "true"
    # the first Admin's password: the deployer's, or generated at init, never a shared default
    assert environment(services["airflow-init"]).get("_AIRFLOW_WWW_USER_PASSWORD") == "${_AIRFLOW_WWW_USER_PASSWORD:-}"
    assert re.search(r"^_AIRFLOW_WWW_USER_PASSWORD=$", ENV_EXAMPLE.read_text(encoding="utf-8"), re.M)
    script = "\n".join(services["airflow-init"]["command"])
    generate = script.index("/opt/airflow/auth/admin_password")
    assert "/dev/urandom" in script[generate - 200 : generate + 100]
    assert script.index("export _AIRFLOW_WWW_USER_PASSWORD") < script.index("/entrypoint airflow version")
    compose_pins = (ROOT / "requirements-compose.txt").read_text(encoding="utf-8")
    version = re.search(r"^apache-airflow-providers-fab==(\S+)", compose_pins, re.M).group(1)
    constraints = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    assert f"\napache-airflow-providers-fab=={version}\n" in constraints
    assert any(
        keyword == "RUN" and "-r /opt/baoke/requirements-compose.txt" in args and "-c /opt/baoke/constraints" in args
        for keyword, args in dockerfile_instructions()
    )
    assert sent_to_docker("requirements-compose.txt")


def test_bi_login_is_a_group_login_not_the_superuser(services):
    """BI tools get a login made by `baoke access add-login --group` (bi_reader), never the
    warehouse's superuser."""
    init = services["warehouse-init"]
    script = "\n".join(init["command"]).replace("$$", "$")  # "$$": left to the container's shell
    assert 'baoke access add-login "${BAOKE_BI_LOGIN}" --group' in script
    assert "--password-stdin" in script
    env = environment(init)
    assert with_defaults(env["BAOKE_BI_LOGIN"]) == "bi"
    assert init["depends_on"]["warehouse"]["condition"] == "service_healthy"
    assert init["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    superuser = environment(services["warehouse"])["POSTGRES_USER"]
    assert with_defaults(env["BAOKE_BI_LOGIN"]) != superuser
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"postgresql://{superuser}:" not in readme, "the README hands BI the superuser"


def test_every_component_shares_the_execution_api_url(airflow_services, services):
    urls = {
        name: environment(svc).get("AIRFLOW__CORE__EXECUTION_API_SERVER_URL") for name, svc in airflow_services.items()
    }
    assert set(urls.values()) == {EXECUTION_API_URL}, urls
    # ... and it names the service that runs the API server, on its container port.
    api_host = urlsplit(EXECUTION_API_URL)
    assert services[api_host.hostname]["command"] == "api-server"
    assert any(str(p).endswith(f":{api_host.port}") for p in services[api_host.hostname].get("ports", []))


def test_celery_executor_with_redis_broker_and_postgres_backend(airflow_services, services):
    for name, service in airflow_services.items():
        env = environment(service)
        assert env.get("AIRFLOW__CORE__EXECUTOR") == "CeleryExecutor", name
        assert urlsplit(env["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis", name
        assert urlsplit(env["AIRFLOW__CELERY__RESULT_BACKEND"]).hostname == "postgres", name
        assert urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).hostname == "postgres", name
    assert services["redis"]["image"].startswith("redis:")


@pytest.mark.slow  # imports Airflow, its Celery provider, dbt and Cosmos
def test_celery_components_load_the_preloading_configuration(airflow_services):
    """Every component loads Airflow's Celery configuration through
    baoke.orchestration.celery_config, which imports dbt and Cosmos first (a worker's
    task processes inherit them); the configuration is Airflow's default, and the Celery
    executor's module imports with the pinned celery (celery 5.7 broke it)."""
    import subprocess
    import sys

    paths = {
        environment(service).get("AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS") for service in airflow_services.values()
    }
    assert paths == {"baoke.orchestration.celery_config.CELERY_CONFIG"}
    probe = (
        "import sys; import airflow.providers.celery.executors.celery_executor_utils; "
        "from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG; "
        "from baoke.orchestration.celery_config import CELERY_CONFIG; "
        "print(CELERY_CONFIG is DEFAULT_CELERY_CONFIG, 'dbt.cli.main' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.stdout.split()[-2:] == ["True", "True"], result.stdout + result.stderr


@pytest.mark.parametrize("conn_id", CONNECTION_IDS)
def test_connection_given_to_every_component(airflow_services, conn_id):
    var = conn_env_name(conn_id)
    for name, service in airflow_services.items():
        value = environment(service).get(var)
        assert value, f"{name}: {var} is not set"
        uri = urlsplit(with_defaults(value))
        assert uri.scheme, f"{name}: the default {var} is not a connection URI"
        assert uri.hostname, f"{name}: the default {var} is not a connection URI"
        assert isinstance(uri.port, int), f"{name}: the default {var} has no valid port"


@pytest.mark.parametrize("step", ["loader", "transformer", "exporter"])
def test_each_step_connects_to_the_warehouse_service_as_its_own_login(airflow_services, services, step):
    """docs/outputs.md §5: extraction, dbt and the export never use the admin login."""
    from baoke.connections import STEPS

    admin = environment(services["warehouse"])["POSTGRES_USER"]
    for name, service in airflow_services.items():
        uri = urlsplit(with_defaults(environment(service)[conn_env_name(STEPS[step].conn_id)]))
        assert (uri.scheme, uri.hostname, uri.port, uri.path) == ("postgresql", "warehouse", 5432, "/baoke"), name
        assert uri.username == STEPS[step].default_login != admin, name
        assert uri.password, f"{name}: the migrations create the login with this password"


def test_the_compose_file_documents_verify_full():
    assert "sslmode=verify-full&sslrootcert=" in COMPOSE_FILE.read_text()


def test_warehouse_connection_defaults_to_the_warehouse_service(airflow_services, services):
    wh = environment(services["warehouse"])
    for name, service in airflow_services.items():
        uri = urlsplit(with_defaults(environment(service)[conn_env_name("warehouse")]))
        assert uri.scheme in ("postgres", "postgresql"), name
        assert (uri.hostname, uri.port) == ("warehouse", 5432), name
        assert uri.username == wh["POSTGRES_USER"], name
        assert uri.password == wh["POSTGRES_PASSWORD"], name
        assert uri.path.lstrip("/") == wh["POSTGRES_DB"], name


@pytest.mark.parametrize("conn_id", ["dms_api", "oem_api"])
def test_api_connection_defaults_are_unreachable_placeholders(airflow_services, conn_id):
    """Without .env the stack must never call a real system with made-up credentials:
    the defaults point at reserved, non-resolving domains, in the shape feeds.md fixes
    (DMS: login = client_id, password = client_secret; OEM: password = API key)."""
    for name, service in airflow_services.items():
        uri = urlsplit(with_defaults(environment(service)[conn_env_name(conn_id)]))
        assert uri.hostname.endswith((".invalid", ".example", "example.com")), f"{name}: {uri.hostname}"
        assert uri.password, f"{name}: no secret in the {conn_id} placeholder"
        if conn_id == "dms_api":
            assert uri.username, f"{name}: no client_id in the {conn_id} placeholder"


@pytest.mark.parametrize("conn_id", ["dms_api", "oem_api"])
def test_api_connection_defaults_are_https_as_airflow_reads_them(airflow_services, conn_id, monkeypatch):
    """The placeholders follow Airflow's HTTP convention (the URI's path is ``schema``, the
    URL scheme), so a deployment that fills them in talks HTTPS, not HTTP to port 443."""
    from baoke.connections import http_endpoint

    for name, service in airflow_services.items():
        monkeypatch.setenv(conn_env_name(conn_id), with_defaults(environment(service)[conn_env_name(conn_id)]))
        assert http_endpoint(conn_id).base_url.startswith("https://"), name


@pytest.mark.parametrize("var", FOLDER_ENV)
def test_folder_is_set_and_inside_a_writable_volume(airflow_services, var):
    for name, service in airflow_services.items():
        path = environment(service).get(var)
        assert path, f"{name}: {var} is not set"
        assert path.startswith("/"), f"{name}: {var} is not an absolute path"
        mounts = [m for m in volume_mounts(service) if path == m[1] or path.startswith(m[1].rstrip("/") + "/")]
        assert mounts, f"{name}: {var}={path} is not inside a mounted volume"
        assert mounts[0][2] != "ro", f"{name}: {var} is mounted read-only"


def test_no_telemetry_in_every_component(airflow_services):
    for name, service in airflow_services.items():
        env = environment(service)
        assert {k: env.get(k) for k in NO_TELEMETRY_ENV} == NO_TELEMETRY_ENV, name


def test_project_settings_in_every_component(airflow_services):
    expected = {
        "AIRFLOW__CORE__DAGS_FOLDER": "/opt/baoke/dags",
        "AIRFLOW__CORE__PLUGINS_FOLDER": "/opt/baoke/plugins",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        "BAOKE_PROJECT_DIR": "/opt/baoke",
    }
    for name, service in airflow_services.items():
        env = environment(service)
        assert {k: env.get(k) for k in expected} == expected, name
    # The image puts the project where the services look for it.
    assert dockerfile_env().get("BAOKE_PROJECT_DIR") == expected["BAOKE_PROJECT_DIR"]


def test_shared_logs_volume(airflow_services):
    """Task logs are written by workers and read by the API server: one shared volume."""
    targets = {name: {m[1]: m[0] for m in volume_mounts(svc)} for name, svc in airflow_services.items()}
    sources = {t.get("/opt/airflow/logs") for t in targets.values()}
    assert len(sources) == 1, targets
    assert None not in sources, targets


# --- docker-compose.yml: databases, health, start order, scaling --------------------------


@pytest.mark.parametrize(("name", "user"), [("postgres", "airflow"), ("warehouse", "baoke")])
def test_postgres_16_with_named_volume_and_pg_isready(compose, services, name, user):
    service = services[name]
    assert service["image"] == "postgres:16"
    env = environment(service)
    assert env["POSTGRES_USER"] == user
    assert env["POSTGRES_DB"] == user
    data = [m for m in volume_mounts(service) if m[1] == "/var/lib/postgresql/data"]
    assert data, f"{name}: data is not on a volume"
    assert data[0][0] in (compose.get("volumes") or {}), f"{name}: data is not on a named volume"
    assert "pg_isready" in healthcheck_command(service)


def test_warehouse_compares_text_as_the_embedded_one(services):
    assert "--lc-collate=C" in environment(services["warehouse"])["POSTGRES_INITDB_ARGS"].split()


def test_warehouse_is_separate_from_airflow_metadata(services):
    pg, wh = services["postgres"], services["warehouse"]
    assert {m[0] for m in volume_mounts(pg)}.isdisjoint({m[0] for m in volume_mounts(wh)})
    assert environment(pg)["POSTGRES_DB"] != environment(wh)["POSTGRES_DB"]


@pytest.mark.parametrize(
    "name",
    [
        "postgres",
        "redis",
        "warehouse",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-worker",
        "airflow-triggerer",
        "airflow-dag-processor",
    ],
)
def test_healthcheck(services, name):
    command = healthcheck_command(services[name])
    assert command.startswith(("CMD ", "CMD-SHELL ")), f"{name} has no health check"


def test_apiserver_and_scheduler_healthcheck_endpoints(services):
    assert "http://localhost:8080/api/v2/version" in healthcheck_command(services["airflow-apiserver"])
    assert "http://localhost:8974/health" in healthcheck_command(services["airflow-scheduler"])
    # The scheduler only serves /health when asked to.
    assert environment(services["airflow-scheduler"]).get("AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK") == "true"


def test_components_wait_for_healthy_databases(airflow_services):
    for name, service in airflow_services.items():
        depends = service.get("depends_on") or {}
        for dependency in ("postgres", "redis", "warehouse"):
            assert (depends.get(dependency) or {}).get("condition") == "service_healthy", f"{name} -> {dependency}"


def test_components_start_after_airflow_init(services):
    init = services["airflow-init"]
    assert environment(init).get("_AIRFLOW_DB_MIGRATE") == "true"
    assert init.get("user") == "0:0", "airflow-init must run as root to own the shared volumes"
    for name in LONG_RUNNING:
        condition = (services[name].get("depends_on") or {}).get("airflow-init", {}).get("condition")
        assert condition == "service_completed_successfully", name


def test_worker_scales(services):
    worker = services["airflow-worker"]
    assert "container_name" not in worker, "a fixed container_name prevents --scale"
    assert not worker.get("ports"), "published host ports prevent --scale"


# --- Dockerfile ---------------------------------------------------------------------------


def test_dockerfile_base_image_matches_the_airflow_pin():
    froms = [args for keyword, args in dockerfile_instructions() if keyword == "FROM"]
    assert froms, "the Dockerfile has no FROM"
    tag = r"(?:--platform=\S+\s+)?apache/airflow:(?:slim-)?(\d+\.\d+\.\d+)-python(\d+\.\d+)(?:\s+AS\s+\S+)?"
    m = re.fullmatch(tag, froms[-1], re.I)
    assert m, f"not an apache/airflow:<version>-python<x.y> tag: {froms[-1]}"
    assert m.group(1) == pinned("apache-airflow"), "image and requirements.txt disagree on the Airflow version"
    assert m.group(2) == "3.11"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert ">=3.11" in requires.replace(" ", ""), requires


def test_dockerfile_installs_pins_then_project_then_builds_manifest():
    runs = [(i, args) for i, (keyword, args) in enumerate(dockerfile_instructions()) if keyword == "RUN"]
    deps = [i for i, args in runs if "pip install" in args and re.search(r"-r\s+\S*requirements\.txt", args)]
    assert deps, "no `pip install -r requirements.txt`"
    assert all(re.search(r"-c\s+\S*constraints\.txt", args) for i, args in runs if i in deps), "not constrained"
    project = [i for i, args in runs if re.search(r"pip install\b.*--no-deps\s+/opt/baoke\b", args)]
    assert project, "no `pip install --no-deps /opt/baoke`"
    assert not any(re.search(r"\s(-e|--editable)\s", args) for i, args in runs if i in project), "editable install"
    manifest = [i for i, args in runs if re.search(r"\bbaoke manifest\b", args)]
    assert manifest, "the dbt manifest is not built into the image"
    assert min(deps) < min(project) < min(manifest)


def test_dockerfile_sets_project_dir_and_no_telemetry_before_building_the_manifest():
    instructions = dockerfile_instructions()
    manifest = next(i for i, (k, a) in enumerate(instructions) if k == "RUN" and "baoke manifest" in a)
    env: dict[str, str] = {}
    for keyword, args in instructions[:manifest]:
        if keyword == "ENV":
            env.update((k, v.strip('"')) for k, v in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\S*)", args))
    assert env.get("BAOKE_PROJECT_DIR") == "/opt/baoke"
    assert {k: env.get(k) for k in NO_TELEMETRY_ENV} == NO_TELEMETRY_ENV


def test_dockerfile_pip_runs_as_the_airflow_user():
    user = "airflow"  # the official image's default user
    for keyword, args in dockerfile_instructions():
        if keyword == "USER":
            user = args.split(":")[0]
        elif keyword == "RUN" and "pip install" in args:
            assert user == "airflow", f"pip install runs as {user}: {args}"


def test_files_the_build_needs_exist():
    """The COPY sources and the readme pyproject.toml declares (pip install fails without it)."""
    readme = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"].get("readme")
    for name in ("requirements.txt", "constraints.txt", "pyproject.toml", readme, "include/baoke", "dbt_project"):
        if name:
            assert (ROOT / name).exists(), f"{name} is missing: the image build would fail"


# --- .dockerignore ------------------------------------------------------------------------


def _dockerignore_patterns() -> list[tuple[bool, re.Pattern]]:
    """(excludes, regex) per line, in order, with Docker's semantics for * ** ? and !."""
    patterns = []
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        excludes = not line.startswith("!")
        glob = line.lstrip("!").strip().strip("/")
        regex = ""
        i = 0
        while i < len(glob):
            if glob.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif glob.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif glob[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif glob[i] == "?":
                regex, i = regex + "[^/]", i + 1
            elif glob[i] == "[":
                end = glob.index("]", i)
                regex, i = regex + glob[i : end + 1], end + 1
            else:
                regex, i = regex + re.escape(glob[i]), i + 1
        patterns.append((excludes, re.compile(regex)))
    return patterns


def sent_to_docker(path: str) -> bool:
    """Whether .dockerignore lets `path` into the build context (the last matching
    pattern wins; a pattern matching a parent folder matches the path)."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    sent = True
    for excludes, regex in _dockerignore_patterns():
        if any(regex.fullmatch(c) for c in candidates):
            sent = not excludes
    return sent


@pytest.mark.parametrize(
    "path",
    [
        "requirements.txt",
        "constraints.txt",
        "pyproject.toml",
        "README.md",
        "include/baoke/config.py",
        "include/baoke/migrations/001_schemas.sql",
        "dags/baoke_warehouse.py",
        "dbt_project/dbt_project.yml",
        "dbt_project/models/marts/some_model.sql",
        "dbt_project/seeds/some_seed.csv",
        "plugins/some_plugin.py",
    ],
)
def test_build_context_includes_the_project(path):
    assert sent_to_docker(path)


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".git/HEAD",
        ".venv/bin/python",
        ".baoke/warehouse/pgdata/PG_VERSION",
        "data/inbox/insurer/policies.csv",
        "dbt_project/target/manifest.json",
        "include/baoke/__pycache__/config.cpython-311.pyc",
    ],
)
def test_build_context_excludes_secrets_state_and_stale_builds(path):
    assert not sent_to_docker(path)


# --- .env.example -------------------------------------------------------------------------


def test_every_compose_variable_is_documented_in_env_example(compose_text):
    example = ENV_EXAMPLE.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\s*#?\s*([A-Za-z_][A-Za-z0-9_]*)=", example, re.M))
    used = compose_variables(compose_text)
    assert used, "no variables found: the pattern is broken"
    assert not used - documented, f"not in .env.example: {sorted(used - documented)}"


def test_compose_variable_scan_skips_escaped_dollars():
    # The scan the previous test relies on: "$$" is the container's, not compose's.
    assert compose_variables('a ${A:-x} $B "$${HOSTNAME}" $$(id -u) $${C}') == {"A", "B"}
