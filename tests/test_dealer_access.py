"""Per-dealer access (docs/outputs.md §2): on a real warehouse built by dbt, with rows of
two dealers in every mart, a dealer's BI login reads its dealer's rows and none of the
other's, nothing of a mart without a dealer_code and nothing outside `marts`; a group's
login reads both; a row of etl.bi_dealer_access is all it takes to give a login another
dealer; `baoke access add-login` makes such logins.

The marts are built by dbt from empty raw tables (so every relation, its grants and its
policies are what a run leaves), then given two rows each, one per dealer, written
straight into each mart table and into the tables the mart views read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid

import psycopg2
import pytest
from psycopg2 import errors, sql
from typer.testing import CliRunner

from baoke.access import AccessError, add_login
from baoke.cli import app
from baoke.dbt import run_dbt
from dbt_support import built_from_empty_feeds, target_for

pytestmark = pytest.mark.slow  # runs dbt

VARS = json.dumps({"business_date": "2026-11-20"})
DEALERS = ("D001", "D002")
OUTSIDE_MARTS = ("raw", "etl", "rules", "staging", "intermediate")


def _with_user(url: str, user: str, password: str = "x") -> str:
    """The URL of the same database for another login (the test server trusts local TCP
    logins; the password is what a real server would check)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{password}@{rest.split('@', 1)[1]}"


def _rows(cur, values_of_row: int, dealer: str, columns: list[tuple[str, str]]) -> list:
    """One row of plausible values for `columns` ((name, data type)): the dealer's code in
    every dealer column, the row's number in the others (distinct per row, so unique
    indexes hold)."""
    day = dt.date(2026, 11, 20)
    values: list = []
    for name, data_type in columns:
        if name.endswith("dealer_code"):
            values.append(dealer)
        elif data_type in ("integer", "bigint", "smallint", "numeric", "double precision", "real"):
            values.append(values_of_row)
        elif data_type == "date":
            values.append(day - dt.timedelta(days=values_of_row))
        elif data_type.startswith("timestamp"):
            values.append(dt.datetime(2026, 11, 19, 10, values_of_row, tzinfo=dt.UTC))
        elif data_type == "boolean":
            values.append(False)
        elif data_type in ("jsonb", "json"):
            values.append("{}")
        else:
            values.append(f"{dealer}-{values_of_row}")
    return values


def _fill(cur, schema: str, table: str) -> None:
    """A row per dealer in a table, whatever its columns."""
    cur.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = %s and table_name = %s and is_generated = 'NEVER' and column_default is null"
        " order by ordinal_position",
        (schema, table),
    )
    columns = cur.fetchall()
    statement = sql.SQL("insert into {}.{} ({}) values ({})").format(
        sql.Identifier(schema),
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(c) for c, _ in columns),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
    )
    for number, dealer in enumerate(DEALERS, start=1):
        cur.execute(statement, _rows(cur, number, dealer, columns))


def _marts(cur) -> dict[str, bool]:
    """Every relation BI reads, by name: whether it has a dealer_code."""
    cur.execute(
        "select c.table_name, bool_or(c.column_name = 'dealer_code')"
        " from information_schema.columns as c where c.table_schema = 'marts' group by c.table_name"
    )
    return dict(cur.fetchall())


@pytest.fixture(scope="module")
def two_dealers(warehouse_url: str) -> str:
    """A warehouse database built by dbt, with a row of each of two dealers in every mart."""
    url = built_from_empty_feeds(warehouse_url, "t_dealer_access", VARS)
    with contextlib.closing(psycopg2.connect(url)) as conn, conn, conn.cursor() as cur:
        cur.execute(
            "select table_name from information_schema.tables"
            " where table_schema = 'marts' and table_type = 'BASE TABLE'"
        )
        for (table,) in cur.fetchall():
            _fill(cur, "marts", table)
        # the tables the marts' views read (they run with their owner's rights)
        cur.execute(
            "select distinct u.table_schema, u.table_name from information_schema.view_table_usage as u"
            " join information_schema.tables as t using (table_schema, table_name)"
            " where u.view_schema = 'marts' and t.table_type = 'BASE TABLE'"
        )
        for schema, table in cur.fetchall():
            _fill(cur, schema, table)
    return url


@pytest.fixture(scope="module")
def logins(two_dealers: str) -> dict[str, str]:
    """A group login and a login for the first dealer, each with its own URL."""
    suffix = uuid.uuid4().hex[:6]
    group, dealer = f"bi_group_{suffix}", f"bi_d1_{suffix}"
    add_login(two_dealers, group, [], group=True, password="group-pw")
    add_login(two_dealers, dealer, [DEALERS[0]], group=False, password="dealer-pw")
    return {"group": _with_user(two_dealers, group, "group-pw"), "dealer": _with_user(two_dealers, dealer, "dealer-pw")}


def _dealers_seen(url: str) -> dict[str, set[str]]:
    """What a login reads of each mart with a dealer_code: the dealer codes of its rows."""
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        seen = {}
        for mart, has_dealer in sorted(_marts(cur).items()):
            if has_dealer:
                cur.execute(sql.SQL("select distinct dealer_code from marts.{}").format(sql.Identifier(mart)))
                seen[mart] = {row[0] for row in cur.fetchall()}
        return seen


def _count(url: str, mart: str) -> int:
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("select count(*) from marts.{}").format(sql.Identifier(mart)))
        return cur.fetchone()[0]


def test_a_dealer_login_reads_only_its_dealer_in_every_mart(two_dealers, logins):
    with contextlib.closing(psycopg2.connect(two_dealers)) as conn, conn.cursor() as cur:
        marts = _marts(cur)
    with_dealer = sorted(m for m, has in marts.items() if has)
    # the marts with a dealer_code: the tables and the views over staging alike
    assert {"dim_dealer", "kpi_dealer_monthly", "fct_service_visit", "fct_appointment"} <= set(with_dealer)
    group, dealer = _dealers_seen(logins["group"]), _dealers_seen(logins["dealer"])
    assert group == {mart: set(DEALERS) for mart in with_dealer}, "the group's login must see both dealers"
    assert dealer == {mart: {DEALERS[0]} for mart in with_dealer}


#: Marts of reference data, without a dealer's or customer's row: every login reads them whole.
REFERENCE_MARTS = ("dim_code_label", "dim_kpi", "dim_outreach_reason")


def test_a_mart_without_a_dealer_code_shows_a_dealer_login_nothing(two_dealers, logins):
    with contextlib.closing(psycopg2.connect(two_dealers)) as conn, conn.cursor() as cur:
        without = sorted(m for m, has in _marts(cur).items() if not has and m not in REFERENCE_MARTS)
    assert {"dim_customer", "fct_insurance_policy"} <= set(without)
    assert {m: _count(logins["group"], m) for m in without} == dict.fromkeys(without, len(DEALERS))
    assert {m: _count(logins["dealer"], m) for m in without} == dict.fromkeys(without, 0)


def test_reference_marts_are_read_whole_by_a_dealer_login(two_dealers, logins):
    """The KPIs' names and targets and the outreach reasons hold no dealer's rows: a
    dealer's report needs them as much as the group's."""
    for mart in REFERENCE_MARTS:
        assert _count(logins["dealer"], mart) == _count(logins["group"], mart) > len(DEALERS), mart


def test_a_dealer_login_reads_nothing_outside_marts(two_dealers, logins):
    with contextlib.closing(psycopg2.connect(two_dealers)) as conn, conn.cursor() as cur:
        cur.execute(
            "select table_schema, table_name from information_schema.tables where table_schema = any(%s)",
            (list(OUTSIDE_MARTS),),
        )
        outside = cur.fetchall()
    assert {"etl", "raw", "staging", "intermediate"} <= {schema for schema, _ in outside}
    assert ("etl", "bi_dealer_access") in outside
    refused = []
    with contextlib.closing(psycopg2.connect(logins["dealer"])) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            for schema, table in outside:
                with contextlib.suppress(errors.InsufficientPrivilege):
                    cur.execute(sql.SQL("select 1 from {}.{} limit 1").format(*map(sql.Identifier, (schema, table))))
                    continue
                refused.append((schema, table))
            # nor another login's dealers, through the function the policies call
            group_login = logins["group"].split("://", 1)[1].split(":", 1)[0]
            cur.execute("select count(*) from access.dealer_codes(%s)", (group_login,))
            assert cur.fetchone()[0] == 0
            cur.execute("select array_agg(d) from access.dealer_codes(current_user) as d")
            assert cur.fetchone()[0] == [DEALERS[0]]
    assert sorted(refused) == sorted(outside)


def test_a_row_in_the_mapping_gives_a_login_another_dealer(two_dealers):
    name = f"bi_more_{uuid.uuid4().hex[:6]}"
    add_login(two_dealers, name, [DEALERS[0]], group=False, password="pw")
    url = _with_user(two_dealers, name, "pw")
    assert set().union(*_dealers_seen(url).values()) == {DEALERS[0]}
    with contextlib.closing(psycopg2.connect(two_dealers)) as conn, conn, conn.cursor() as cur:
        cur.execute("insert into etl.bi_dealer_access (role_name, dealer_code) values (%s, %s)", (name, DEALERS[1]))
    assert all(s == set(DEALERS) for s in _dealers_seen(url).values())


def test_the_policies_survive_a_rebuild(two_dealers, logins):
    """dbt drops and creates a mart at each build: the post-hook applies its policies again."""
    assert run_dbt(["run", "--quiet", "--vars", VARS, *target_for(VARS), "--select", "dim_dealer"], two_dealers)
    with contextlib.closing(psycopg2.connect(two_dealers)) as conn, conn, conn.cursor() as cur:
        _fill(cur, "marts", "dim_dealer")
        cur.execute("select relrowsecurity from pg_class where oid = 'marts.dim_dealer'::regclass")
        assert cur.fetchone()[0]
    assert _dealers_seen(logins["dealer"])["dim_dealer"] == {DEALERS[0]}
    assert _dealers_seen(logins["group"])["dim_dealer"] == set(DEALERS)


def test_add_login_through_the_cli(two_dealers, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", two_dealers)
    runner = CliRunner()
    name = f"bi_cli_{uuid.uuid4().hex[:6]}"

    first = runner.invoke(app, ["access", "add-login", name, "--dealer", DEALERS[1]])
    assert first.exit_code == 0, first.output
    assert f"login {name} created" in first.output
    password = first.output.split("password (shown once): ", 1)[1].split()[0]
    assert len(password) >= 24
    again = runner.invoke(app, ["access", "add-login", name, "--dealer", DEALERS[1]])
    assert again.exit_code == 0, again.output
    assert "already exists" in again.output
    assert "password" not in again.output  # kept, not shown again

    with contextlib.closing(psycopg2.connect(two_dealers)) as conn, conn.cursor() as cur:
        cur.execute("select dealer_code from etl.bi_dealer_access where role_name = %s", (name,))
        assert cur.fetchall() == [(DEALERS[1],)]
        # stored hashed (libpq hashes it before it is sent)
        cur.execute("select rolcanlogin, rolpassword like 'SCRAM-SHA-256$%%' from pg_authid where rolname = %s", [name])
        assert cur.fetchone() == (True, True)
        cur.execute("select pg_has_role(%s, 'bi_dealer', 'MEMBER'), pg_has_role(%s, 'bi_reader', 'MEMBER')", [name] * 2)
        assert cur.fetchone() == (True, False)
    seen = _dealers_seen(_with_user(two_dealers, name, password))
    assert all(s == {DEALERS[1]} for s in seen.values())

    unknown = runner.invoke(app, ["access", "add-login", name, "--dealer", "D999"])
    assert unknown.exit_code == 1
    assert "unknown dealer code(s): D999" in unknown.output
    mixed = runner.invoke(app, ["access", "add-login", name, "--group"])
    assert mixed.exit_code == 1
    assert "revoke bi_dealer" in mixed.output

    group = f"bi_cli_group_{uuid.uuid4().hex[:6]}"
    from_stdin = runner.invoke(app, ["access", "add-login", group, "--group", "--password-stdin"], input="s3cret\n")
    assert from_stdin.exit_code == 0, from_stdin.output
    assert "s3cret" not in from_stdin.output
    assert all(s == set(DEALERS) for s in _dealers_seen(_with_user(two_dealers, group, "s3cret")).values())


def test_add_login_needs_one_kind(two_dealers):
    with pytest.raises(AccessError, match="either --group or"):
        add_login(two_dealers, "bi_nobody", [DEALERS[0]], group=True)
    with pytest.raises(AccessError, match="either --group or"):
        add_login(two_dealers, "bi_nobody", [], group=False)
