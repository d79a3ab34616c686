"""Erasure (outputs.md §5, PIPL Art. 47): ``baoke privacy erase --customer ID``.

A deletion request replaces the customer's name, mobile, address and birth date with
pseudonyms everywhere the warehouse holds them, in one transaction:

- **raw**: every version of the customer's DMS record (``raw.dms_customers``, the JSON
  payload as received), and the customer's values wherever another raw record carries
  them (an insurer's policy on the customer's car names the insured and a phone; the OEM
  names the customer). A raw row belongs to the customer when its payload names the
  customer's id (``customer_id``, or ``record_key`` of ``raw.dms_customers``) or one of
  the customer's cars (``vin``, ``车架号``);
- **etl**: rejected records holding the customer's payload (found by the customer's id,
  cars or mobile in the text; the value a reason quotes is cut, as in reports), and the
  outreach log's mobile (the one update that log allows, migration 014);
- **staging, intermediate, marts**: the rows dbt materialised from them, updated in
  place (staging is incremental: a later build would not rebuild them). A row belongs
  to the customer when a ``*customer_id`` column names the customer (or one merged into
  it) or a ``vin`` column one of its cars.

In every such row the customer's original values (all versions: a name, mobile or
address the customer ever had) are replaced inside every text and JSON value: the name
by ``已删除-<token>``, the mobile by ``erased-<token>`` (no digit: it can never be
dialled, and the mobile rules read it as no mobile), the address by ``已删除``; the birth
date becomes null. In the dbt schemas a normalised mobile column (``mobile``,
``*_mobile``, ``*mobile_masked``) becomes null and a masked name the masked pseudonym,
as a rebuild from the pseudonymised raw records would make them. The token is derived
from the customer id, so the pseudonyms of a customer are always the same.

Ids, cars, visits, orders, consents and every figure stay as they were: the KPIs do not
change. The request is recorded in ``etl.erasures`` (append-only), which the loader
reads to pseudonymise every record loaded later that carries the customer's personal
data (``PERSONAL_FIELDS``, ``pseudonymise_record``): a later DMS version of the
customer, and a later insurer policy or OEM lost-list item on a car the customer owns
(its latest DMS version names the customer). A second request for the same customer
changes nothing: nothing loaded since can hold the original values.

The command needs a role that may update every schema (the tables' owner): it is an
administrator's act, not a step of the daily run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from psycopg2 import sql

from baoke.migrate import SCHEMA_OWNERS

log = logging.getLogger(__name__)

#: The payload fields of a DMS customer record that hold personal data.
NAME_FIELD, MOBILE_FIELD, ADDRESS_FIELD, BIRTH_FIELD = "name", "mobile", "address", "birth_date"
#: The payload fields naming a car, in the raw feeds (DMS and OEM in English, insurers in Chinese).
VIN_FIELDS = ("vin", "车架号")
#: Schemas dbt builds (normalised and masked columns are rebuilt there, not replaced).
DBT_SCHEMAS = ("staging", "intermediate", "marts")
ERASED_ADDRESS = "已删除"
_NOT_SCANNED = {("etl", "erasures"), ("etl", "schema_migrations")}
_TEXT_TYPES = ("text", "character varying", "character")
_JSON_TYPES = ("jsonb", "json")


class ErasureError(RuntimeError):
    """The erasure could not be done (no such customer): nothing was changed."""


def _token(customer_id: str) -> str:
    """Ten letters derived from the customer id (no digit, so no pseudonym can look like
    a phone number once the digits are picked out of it)."""
    digest = hashlib.sha256(f"baoke-erasure\n{customer_id}".encode()).hexdigest()
    return digest[:10].translate(str.maketrans("0123456789abcdef", "ghijklmnopqrstuv"))


@dataclass(frozen=True)
class Pseudonyms:
    name: str
    mobile: str
    address: str

    @classmethod
    def of(cls, customer_id: str) -> Pseudonyms:
        token = _token(customer_id)
        return cls(f"已删除-{token}", f"erased-{token}", ERASED_ADDRESS)


def mask_name(name: str) -> str:
    """The dbt macro ``mask_name``: 张三丰 -> 张**."""
    return name[:1] + "*" * max(len(name) - 1, 1)


def normalize_mobile(value: str) -> str | None:
    """The dbt macro ``normalize_mobile``: the 11 digits of a Chinese mobile, or None."""
    match = re.fullmatch(r"(?:0086|86)?(1[0-9]{10})", re.sub(r"[^0-9]", "", value))
    return match.group(1) if match else None


@dataclass
class Originals:
    """What the customer's records ever held (every version)."""

    customer_ids: set[str] = field(default_factory=set)
    vins: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    mobiles: set[str] = field(default_factory=set)  # normalised
    addresses: set[str] = field(default_factory=set)
    birth_dates: set[str] = field(default_factory=set)


@dataclass
class Substitution:
    """Replaces the customer's original values inside any text or JSON value."""

    originals: Originals
    pseudonyms: Pseudonyms

    def __post_init__(self) -> None:
        # longest first: an address may contain the name, a name another name
        self._plain = sorted(
            [(n, self.pseudonyms.name) for n in self.originals.names if n]
            + [(a, self.pseudonyms.address) for a in self.originals.addresses if a],
            key=lambda pair: -len(pair[0]),
        )
        self._mobile = (
            re.compile(
                "|".join(
                    r"(?:(?:\+|00)?86[\s-]*)?" + r"[\s-]*".join(m) for m in sorted(self.originals.mobiles, key=len)
                )
            )
            if self.originals.mobiles
            else None
        )
        self._masked_names = {mask_name(n) for n in self.originals.names if n}
        self._masked_mobiles = {f"{m[:3]}****{m[-4:]}" for m in self.originals.mobiles}

    def text(self, value: str) -> str:
        for old, new in self._plain:
            value = value.replace(old, new)
        if self._mobile is not None:
            value = self._mobile.sub(self.pseudonyms.mobile, value)
        return value

    def json(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self.json(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v, key) for v in value]
        if isinstance(value, str):
            if "birth" in key and value in self.originals.birth_dates:
                return None
            if "mobile" in key and value in self._masked_mobiles:  # the OEM's 138****8000
                return self.pseudonyms.mobile
            return self.text(value)
        return value

    def column(self, schema: str, column: str, value: Any) -> Any:
        """The new value of a text column of a row of the customer's."""
        if value is None or not isinstance(value, str):
            return value
        if schema in DBT_SCHEMAS:
            if "masked" in column and "mobile" in column and value in self._masked_mobiles:
                return None
            if (column == "mobile" or column.endswith("_mobile")) and normalize_mobile(value) in self.originals.mobiles:
                return None
            if "masked" in column and value in self._masked_names:
                return mask_name(self.pseudonyms.name)
        if "birth" in column and value in self.originals.birth_dates:
            return None
        if (schema, column) == ("etl", "reason"):  # a reject's reason may quote the value (a birth date)
            from baoke.extract.loader import public_reason

            value = public_reason(value)
        if column == "record" and value.startswith("{"):  # a rejected record's payload, as received
            with contextlib.suppress(ValueError):
                record = json.loads(value)
                if isinstance(record, dict) and record.get("customer_id") in self.originals.customer_ids:
                    # its birth date may be one no valid version had (why it was rejected)
                    record = pseudonymise_record(record, self.pseudonyms)
                    return self.text(json.dumps(self.json(record), ensure_ascii=False, separators=(",", ":")))
        return self.text(value)


# --- finding the customer ------------------------------------------------------------


def _exists(cur: Any, relation: str) -> bool:
    cur.execute("select to_regclass(%s) is not null", (relation,))
    return bool(cur.fetchone()[0])


def _survivor(cur: Any, customer_id: str) -> list[str]:
    """The customer's id and, when its record is a duplicate merged into another (and that
    one into another...), the ids it was merged into, by each record's latest version."""
    chain = [customer_id]
    while True:
        cur.execute(
            "select record ->> 'merged_into_customer_id' from raw.dms_customers where record_key = %s"
            " order by version_at desc nulls last, batch_id desc, locator desc limit 1",
            (chain[-1],),
        )
        row = cur.fetchone()
        if row is None or not row[0] or row[0] in chain:
            return chain
        chain.append(row[0])


def find_originals(cur: Any, customer_id: str) -> Originals:
    """The customer's ids (its own, the record it was merged into if it is a duplicate,
    and those merged into either: the DMS says they are one person), cars and personal
    values, from every raw version of its DMS record and the staged one."""
    found = Originals(customer_ids={customer_id})
    records: list[dict[str, Any]] = []
    if _exists(cur, "raw.dms_customers"):
        found.customer_ids |= set(_survivor(cur, customer_id))
        while True:  # customers merged into one of the ids are the same person
            cur.execute(
                "select distinct record_key from raw.dms_customers"
                " where record ->> 'merged_into_customer_id' = any(%s) and not record_key = any(%s)",
                (list(found.customer_ids), list(found.customer_ids)),
            )
            more = {row[0] for row in cur.fetchall()}
            if not more:
                break
            found.customer_ids |= more
        cur.execute("select record from raw.dms_customers where record_key = any(%s)", (list(found.customer_ids),))
        records = [row[0] for row in cur.fetchall()]
    if _exists(cur, "staging.stg_dms__customers"):
        cur.execute(
            "select customer_name, mobile_as_typed, address, birth_date::text from staging.stg_dms__customers"
            " where customer_id = any(%s)",
            (list(found.customer_ids),),
        )
        records += [{NAME_FIELD: n, MOBILE_FIELD: m, ADDRESS_FIELD: a, BIRTH_FIELD: b} for n, m, a, b in cur.fetchall()]
    kept = ((NAME_FIELD, found.names), (ADDRESS_FIELD, found.addresses), (BIRTH_FIELD, found.birth_dates))
    for record in records:
        if not isinstance(record, dict):
            continue
        for key, into in kept:
            value = record.get(key)
            if isinstance(value, str) and value.strip():
                into.add(value)
        mobile = normalize_mobile(str(record.get(MOBILE_FIELD) or ""))
        if mobile:
            found.mobiles.add(mobile)
    if _exists(cur, "raw.dms_vehicles"):
        cur.execute(
            "select distinct record_key from raw.dms_vehicles where record ->> 'customer_id' = any(%s)",
            (list(found.customer_ids),),
        )
        found.vins |= {row[0] for row in cur.fetchall()}
    if _exists(cur, "staging.stg_dms__vehicles"):
        cur.execute(
            "select distinct vin from staging.stg_dms__vehicles where customer_id = any(%s)",
            (list(found.customer_ids),),
        )
        found.vins |= {row[0] for row in cur.fetchall() if row[0]}
    # names shorter than two characters would match inside other words: never replaced
    found.names = {n for n in found.names if len(n) >= 2}
    return found


# --- rewriting the rows that carry them ------------------------------------------------


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: dict[str, str]  # name -> data type

    @property
    def relation(self) -> str:
        return f'"{self.schema}"."{self.name}"'


def tables(cur: Any) -> list[Table]:
    """Every ordinary table of every schema but the system's, with its columns."""
    cur.execute(
        "select c.table_schema, c.table_name, c.column_name, c.data_type from information_schema.columns c"
        " join information_schema.tables t using (table_schema, table_name)"
        " where t.table_type = 'BASE TABLE' and c.table_schema not in ('pg_catalog', 'information_schema')"
        " and c.table_schema not like 'pg\\_%%' order by 1, 2, c.ordinal_position"
    )
    found: dict[tuple[str, str], dict[str, str]] = {}
    for schema, name, column, data_type in cur.fetchall():
        found.setdefault((schema, name), {})[column] = data_type
    return [Table(s, n, cols) for (s, n), cols in found.items() if (s, n) not in _NOT_SCANNED]


def _link(table: Table, originals: Originals) -> tuple[str, dict[str, Any]] | None:
    """The SQL condition selecting the customer's rows of ``table``, or None when the
    table has no column that could name the customer or its cars."""
    ids, vins = list(originals.customer_ids), list(originals.vins)
    params: dict[str, Any] = {"ids": ids, "vins": vins}
    terms = []
    for column, data_type in table.columns.items():
        quoted = f'"{column}"'
        if column.endswith("customer_id") and data_type in _TEXT_TYPES:
            terms.append(f"{quoted} = any(%(ids)s)")
        elif column == "vin" and data_type in _TEXT_TYPES:
            terms.append(f"{quoted} = any(%(vins)s)")
        elif data_type == "jsonb" and column == "record":
            terms.append("record ->> 'customer_id' = any(%(ids)s)")
            terms += [f"record ->> '{vin_field}' = any(%(vins)s)" for vin_field in VIN_FIELDS]
    if table.schema == "raw" and "record_key" in table.columns and table.name == "dms_customers":
        terms.append("record_key = any(%(ids)s)")
    if (table.schema, table.name) == ("etl", "rejects"):
        needles = [*ids, *vins, *originals.mobiles]
        params["needles"] = needles
        terms.append("exists (select from unnest(%(needles)s::text[]) n where strpos(record, n) > 0)")
    if not terms:
        return None
    return " or ".join(terms), params


@dataclass(frozen=True)
class Change:
    """One row of the customer's to rewrite: which columns get which values."""

    table: Table
    row_id: str  # the row's ctid, read in this transaction
    updates: dict[str, Any]


def planned_changes(cur: Any, table: Table, substitution: Substitution) -> list[Change]:
    """The customer's rows of ``table`` whose values change, and how."""
    link = _link(table, substitution.originals)
    if link is None:
        return []
    condition, params = link
    columns = [
        c for c, t in table.columns.items() if t in _TEXT_TYPES or t in _JSON_TYPES or (t == "date" and "birth" in c)
    ]
    if not columns:
        return []
    quoted = ", ".join(f'"{c}"' for c in columns)
    cur.execute(f"select ctid, {quoted} from {table.relation} where {condition}", params)
    changes = []
    for row_id, *values in cur.fetchall():
        updates: dict[str, Any] = {}
        for column, value in zip(columns, values, strict=True):
            data_type = table.columns[column]
            if data_type in _JSON_TYPES:
                new = substitution.json(value)
                if new != value:
                    updates[column] = json.dumps(new, ensure_ascii=False)
            elif data_type == "date":
                if value is not None and value.isoformat() in substitution.originals.birth_dates:
                    updates[column] = None
            else:
                new = substitution.column(table.schema, column, value)
                if new != value:
                    updates[column] = new
        if updates:
            changes.append(Change(table, row_id, updates))
    return changes


def apply(cur: Any, change: Change) -> None:
    assignments = ", ".join(f'"{c}" = %s' for c in change.updates)
    cur.execute(
        f"update {change.table.relation} set {assignments} where ctid = %s", [*change.updates.values(), change.row_id]
    )


@dataclass
class Erasure:
    customer_id: str
    already: bool
    rows_changed: int
    tables: dict[str, int]
    erased_at: dt.datetime | None = None

    def lines(self) -> list[str]:
        if self.already:
            return [f"customer {self.customer_id} was erased on {self.erased_at:%Y-%m-%d %H:%M %Z}: nothing to do"]
        return [
            f"customer {self.customer_id} erased: {self.rows_changed} rows pseudonymised in {len(self.tables)} tables",
            *(f"  {name}: {n}" for name, n in sorted(self.tables.items())),
        ]


def erase(conn: Any, customer_id: str, reason: str | None = None) -> Erasure:
    """Erase one customer (see the module docstring), in one transaction; a customer
    erased before is left as it is."""
    with conn, conn.cursor() as cur:
        cur.execute("lock table etl.erasures in share row exclusive mode")  # one erasure at a time
        cur.execute("select erased_at from etl.erasures where customer_id = %s", (customer_id,))
        done = cur.fetchone()
        if done is not None:
            return Erasure(customer_id, True, 0, {}, done[0])
        originals = find_originals(cur, customer_id)
        if not (originals.names or originals.mobiles or originals.addresses or originals.vins):
            raise ErasureError(f"no customer {customer_id} in the warehouse (raw.dms_customers): nothing erased")
        pseudonyms = Pseudonyms.of(customer_id)
        substitution = Substitution(originals, pseudonyms)
        changes = [change for table in tables(cur) for change in planned_changes(cur, table, substitution)]
        # the record first: the outreach log's trigger lets only an erased customer's mobile change
        try:
            os_user = getpass.getuser()
        except (KeyError, OSError):
            os_user = f"uid {os.getuid()}"
        for erased in [customer_id, *sorted(originals.customer_ids - {customer_id})]:
            cur.execute(
                "insert into etl.erasures (customer_id, reason, pseudonym_name, pseudonym_mobile, pseudonym_address,"
                " rows_changed, os_user) values (%s, %s, %s, %s, %s, %s, %s) on conflict do nothing",
                (
                    erased,
                    reason if erased == customer_id else f"same person as {customer_id}: {reason or ''}".strip(),
                    pseudonyms.name,
                    pseudonyms.mobile,
                    pseudonyms.address,
                    len(changes) if erased == customer_id else 0,
                    os_user,
                ),
            )
        counts: dict[str, int] = {}
        acting_as: str | None = None
        for change in sorted(changes, key=lambda c: c.table.schema):
            # as the role owning the schema, never as the admin: a trigger or index on a
            # table dbt built runs as who updates it, and must not run as a superuser
            role = SCHEMA_OWNERS.get(change.table.schema)
            if role != acting_as:
                cur.execute(sql.SQL("set local role {}").format(sql.Identifier(role)) if role else "reset role")
                acting_as = role
            apply(cur, change)
            relation = f"{change.table.schema}.{change.table.name}"
            counts[relation] = counts.get(relation, 0) + 1
        cur.execute("reset role")
        total = len(changes)
        cur.execute("select erased_at from etl.erasures where customer_id = %s", (customer_id,))
        erased_at = cur.fetchone()[0]
    log.info("customer %s erased: %d rows in %d tables", customer_id, total, len(counts))
    return Erasure(customer_id, False, total, counts, erased_at)


# --- later versions, on load ------------------------------------------------------------


def erased_customers(conn: Any) -> dict[str, Pseudonyms]:
    """customer id -> its pseudonyms, for every erased customer (``etl.erasures``)."""
    with conn.cursor() as cur:
        cur.execute("select to_regclass('etl.erasures') is not null")
        if not cur.fetchone()[0]:
            return {}
        cur.execute("select customer_id, pseudonym_name, pseudonym_mobile, pseudonym_address from etl.erasures")
        return {row[0]: Pseudonyms(*row[1:]) for row in cur.fetchall()}


@dataclass(frozen=True)
class PersonalFields:
    """Where a feed's records hold a person's data, and the field saying whose it is:
    ``owner_key`` names the customer (``by_vehicle`` false) or a car (true: the person is
    the car's owner, as the insurers and the OEM know them)."""

    owner_key: str
    by_vehicle: bool
    name: str | None = None
    mobile: str | None = None
    address: str | None = None
    birth_date: str | None = None
    free_text: tuple[str, ...] = ()  # what anyone wrote about the person: emptied


#: The raw tables whose records name a person, by table (feeds.md §1-§4).
PERSONAL_FIELDS: dict[str, PersonalFields] = {
    "raw.dms_customers": PersonalFields("customer_id", False, NAME_FIELD, MOBILE_FIELD, ADDRESS_FIELD, BIRTH_FIELD),
    "raw.insurer_policies": PersonalFields("车架号", True, "被保险人", "联系电话"),
    "raw.oem_lost_customers": PersonalFields("vin", True, "customer_name", "mobile_masked"),
    # an outcome of a call made before the erasure may come back after it
    "raw.callcenter_outcomes": PersonalFields("customer_id", False, free_text=("note",)),
}


def erased_owners(conn: Any, fields: PersonalFields) -> dict[str, Pseudonyms]:
    """The value of ``fields.owner_key`` -> pseudonyms, for the records of an erased
    customer: its ids, or the cars whose latest DMS version names it (a car sold on
    since is the new owner's, and lands as sent)."""
    customers = erased_customers(conn)
    if not fields.by_vehicle or not customers:
        return customers
    with conn.cursor() as cur:
        cur.execute(
            "select distinct on (record_key) record_key, record ->> 'customer_id' from raw.dms_vehicles"
            " where record_key in (select record_key from raw.dms_vehicles where record ->> 'customer_id' = any(%s))"
            " order by record_key, version_at desc nulls last, batch_id desc, locator desc",
            (list(customers),),
        )
        return {vin: customers[owner] for vin, owner in cur.fetchall() if owner in customers}


def pseudonymise_record(
    record: dict[str, Any], pseudonyms: Pseudonyms, fields: PersonalFields = PERSONAL_FIELDS["raw.dms_customers"]
) -> dict[str, Any]:
    """A record of an erased customer as it may be loaded: its name, mobile and address
    replaced by the customer's pseudonyms, its birth date null (fields it does not have
    stay absent)."""
    pairs = ((fields.name, pseudonyms.name), (fields.mobile, pseudonyms.mobile), (fields.address, pseudonyms.address))
    replaced = {key: value for key, value in pairs if key} | dict.fromkeys(fields.free_text, "")
    out = dict(record)
    for key, value in replaced.items():
        if key in out and out[key] not in (None, ""):
            out[key] = value
    if fields.birth_date and out.get(fields.birth_date) not in (None, ""):
        out[fields.birth_date] = None
    return out


# --- the command ------------------------------------------------------------------------

app = typer.Typer(help="Personal data: deletion requests (PIPL).", no_args_is_help=True)


@app.command("erase")
def erase_command(
    customer: Annotated[str, typer.Option("--customer", help="The customer id (DMS customer_id).", metavar="ID")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (the request's reference), kept with the record.")
    ] = None,
) -> None:
    """Erase a customer (PIPL Art. 47): replace its name, mobile, address and birth date
    with pseudonyms everywhere in the warehouse, raw versions included, and in every
    version loaded later; keep ids, visits and KPIs. A second erase changes nothing."""
    from baoke.cli_common import migrated_warehouse_or_exit
    from baoke.connections import warehouse as connect

    url = migrated_warehouse_or_exit()
    with connect(url) as conn:
        try:
            result = erase(conn, customer, reason)
        except ErasureError as err:
            typer.secho(f"error: {err}", fg="red", err=True)
            raise typer.Exit(1) from err
    for line in result.lines():
        typer.echo(line)
