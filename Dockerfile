# syntax=docker/dockerfile:1
#
# Baoke's Airflow image: the official Apache Airflow image extended with Baoke's pinned
# dependencies, the `baoke` package, the DAGs, the dbt project and a pre-built dbt
# manifest. docker-compose.yml runs every Airflow component from this one image.
# See https://airflow.apache.org/docs/docker-stack/build.html
#
# The tag's Airflow version must equal the `apache-airflow==` pin in requirements.txt
# and its Python must match pyproject.toml (tests/test_compose.py checks both).
FROM apache/airflow:slim-3.3.2-python3.11

# Baoke holds personal data: nothing phones home, not even during the build
# (`baoke manifest` below runs dbt).
ENV DO_NOT_TRACK=1 \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False \
    SCARF_ANALYTICS=false \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False

# /opt/baoke belongs to the airflow user and group 0, group-writable, so the container
# also works under an arbitrary AIRFLOW_UID (which always runs with GID 0).
USER root
RUN install -d -o airflow -g 0 -m 2775 /opt/baoke

# pip must run as the airflow user: the image installs Python packages into its ~/.local.
USER airflow

# Dependencies first, in their own layer, so that a code change does not reinstall them.
# Pinning apache-airflow to the image's version makes a mismatched pin fail here, early.
# requirements-compose.txt adds the FAB auth manager the compose stack logs in with.
COPY requirements.txt requirements-compose.txt constraints.txt /opt/baoke/
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" \
        -r /opt/baoke/requirements.txt -r /opt/baoke/requirements-compose.txt -c /opt/baoke/constraints.txt

# The project: .dockerignore admits only pyproject.toml, README.md, include/, dags/,
# dbt_project/ and plugins/ (plus the two requirement files above), so no .env, .venv,
# .baoke state or stale dbt target can leak into the image.
COPY --chown=airflow:0 . /opt/baoke/

# A regular (non-editable) install: the image must not depend on the source tree's
# layout. Dependencies are already installed above, hence --no-deps.
RUN pip install --no-cache-dir --no-deps /opt/baoke \
    && rm -rf /opt/baoke/build /opt/baoke/include/*.egg-info \
    && mkdir -p /opt/baoke/dags /opt/baoke/plugins

ENV BAOKE_PROJECT_DIR=/opt/baoke

# Parse the dbt project once at build time (dbt parse -> dbt_project/target/manifest.json)
# so Cosmos renders the DAGs from a manifest instead of re-parsing in every process.
# It needs no database. Then make the tree group-writable (see above).
RUN baoke manifest \
    && chmod -R g+rwX /opt/baoke
