"""BI logins (docs/outputs.md §2, "Per-dealer access"): ``baoke access add-login``.

A BI analyst should not have to write ``create role … in role bi_reader`` by hand, nor
be handed the warehouse's superuser. A group's login is granted ``bi_reader`` (every
row of every mart); a dealer's login is granted ``bi_dealer`` and listed with its dealers
in ``etl.bi_dealer_access``, which the marts' row-level security reads. The command is
idempotent: run again, it changes nothing that is already so (and keeps the password
unless a new one is given on stdin).
"""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass, field
from typing import Annotated

import psycopg2
import typer
from psycopg2 import sql
from psycopg2.extensions import encrypt_password

GROUP_ROLE = "bi_reader"
DEALER_ROLE = "bi_dealer"

access_app = typer.Typer(help="BI logins: who may read the marts, and which dealers' rows.", no_args_is_help=True)


class AccessError(RuntimeError):
    """A login cannot be added as asked; the message says why."""


@dataclass
class LoginResult:
    """What add_login did: whether it created the login, the password it generated (to
    print once), and the dealers it added."""

    created: bool
    password: str | None = None
    added_dealers: list[str] = field(default_factory=list)


def known_dealers(cur) -> set[str]:
    """The dealer codes BI can see: the dealer dimension of the last build."""
    cur.execute("select to_regclass('marts.dim_dealer') is not null")
    if not cur.fetchone()[0]:
        raise AccessError("no dealer is known yet: marts.dim_dealer is built by the first run (`baoke run`)")
    cur.execute("select dealer_code from marts.dim_dealer")
    return {row[0] for row in cur.fetchall()}


def add_login(url: str, name: str, dealers: list[str], group: bool, password: str | None = None) -> LoginResult:
    """Create (or complete) the BI login ``name``: for the whole group (``group``) or for
    ``dealers``. A new login gets ``password``, or a generated one returned once; an
    existing login keeps its password unless ``password`` is given. Raises AccessError
    for an unknown dealer, or for a login that would be both kinds (a member of bi_reader
    sees every dealer, which would void its dealer rows)."""
    if group == bool(dealers):
        raise AccessError("give either --group or at least one --dealer CODE")
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            if dealers:
                unknown = sorted(set(dealers) - known_dealers(cur))
                if unknown:
                    raise AccessError(f"unknown dealer code(s): {', '.join(unknown)} (see marts.dim_dealer)")
            cur.execute("select rolcanlogin from pg_roles where rolname = %s", (name,))
            row = cur.fetchone()
            if row is not None and not row[0]:
                raise AccessError(f"role {name} exists and is not a login")
            other = DEALER_ROLE if group else GROUP_ROLE
            if row is not None and _is_member(cur, name, other):
                kind = "a dealer's" if group else "the group's"
                raise AccessError(f"{name} is already {kind} login; revoke {other} from it first")
            role = sql.Identifier(name)
            generated = None
            if row is None:
                if password is None:
                    password = generated = secrets.token_urlsafe(24)
                cur.execute(sql.SQL("create role {} login password {}").format(role, _hashed(conn, name, password)))
            elif password is not None:
                cur.execute(sql.SQL("alter role {} password {}").format(role, _hashed(conn, name, password)))
            cur.execute(sql.SQL("grant {} to {}").format(sql.Identifier(GROUP_ROLE if group else DEALER_ROLE), role))
            added = []
            for code in sorted(set(dealers)):
                cur.execute(
                    "insert into etl.bi_dealer_access (role_name, dealer_code) values (%s, %s)"
                    " on conflict do nothing returning dealer_code",
                    (name, code),
                )
                added += [r[0] for r in cur.fetchall()]
            return LoginResult(created=row is None, password=generated, added_dealers=added)
    finally:
        conn.close()


def _hashed(conn, name: str, password: str) -> sql.Literal:
    """The password as the server stores it (SCRAM, or what `password_encryption` says),
    hashed here by libpq: the clear text never reaches the server, so no statement log or
    pg_stat_statements can keep it."""
    return sql.Literal(encrypt_password(password, name, conn))


def _is_member(cur, name: str, role: str) -> bool:
    cur.execute("select pg_has_role(%s, %s, 'MEMBER')", (name, role))
    return bool(cur.fetchone()[0])


@access_app.command("add-login")
def add_login_command(
    name: Annotated[str, typer.Argument(help="The login's name (a PostgreSQL role).")],
    group: Annotated[bool, typer.Option("--group", help="A login for the whole group: every dealer.")] = False,
    dealer: Annotated[
        list[str] | None, typer.Option("--dealer", help="A dealer this login sees (repeat for several).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin instead of generating one.")
    ] = False,
) -> None:
    """Create a BI login for the group (--group) or for dealers (--dealer CODE ...);
    safe to run again."""
    from baoke import migrate, warehouse

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    if password_stdin and not password:
        raise typer.BadParameter("--password-stdin: stdin holds no password")
    try:
        url = warehouse.resolve_warehouse()
        migrate.migrate(url)
        result = add_login(url, name, dealer or [], group, password)
    except (AccessError, warehouse.WarehouseError, psycopg2.Error) as err:
        typer.echo(f"error: {str(err).strip()}", err=True)
        raise typer.Exit(1) from None
    what = GROUP_ROLE if group else f"{DEALER_ROLE}, dealers {', '.join(sorted(set(dealer or [])))}"
    typer.echo(f"login {name} {'created' if result.created else 'already exists'}: {what}")
    if result.added_dealers:
        typer.echo(f"dealers added: {', '.join(result.added_dealers)}")
    if result.password:
        typer.echo(f"password (shown once): {result.password}")
