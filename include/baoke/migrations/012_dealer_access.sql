-- Per-dealer access to the marts (docs/outputs.md §2, "Per-dealer access").
--
--   bi_reader   a group's BI login: every row of every mart (003_roles.sql)
--   bi_dealer   a dealer's BI login: in every mart, only the rows of the dealers that
--               etl.bi_dealer_access maps to one of its roles; a mart without a
--               dealer_code shows it nothing
--
-- The mapping is data: adding a row gives a login a dealer. dbt (re)applies the row-level
-- security of each mart it builds (macros/dealer_access.sql, a post-hook of the marts);
-- the functions below are what the policies and the marts' views call. `baoke access
-- add-login` creates the logins and their rows.
do $$
begin
    if not exists (select from pg_roles where rolname = 'bi_dealer') then
        create role bi_dealer nologin;
    end if;
end
$$;

create table if not exists etl.bi_dealer_access (
    role_name   text not null,  -- a login or group role (it may be created after its row)
    dealer_code text not null,
    granted_at  timestamptz not null default now(),
    primary key (role_name, dealer_code)
);

-- A dealer login reads the marts and nothing else: no privilege on etl (the mapping is
-- read for it by the security-definer function below), raw, staging or intermediate.
grant usage on schema marts to bi_dealer;

-- The functions the policies call live in a schema of their own that every role may use:
-- they hold no data, and what they return is the caller's own access.
create schema if not exists access;
revoke all on schema access from public;
grant usage on schema access to public;

-- The dealer codes mapped to the roles `who` is a member of (directly or through other
-- roles). Security definer, so a login without any privilege on etl can be told its own
-- dealers; it answers only for the session's own roles (`who` must be the session user or
-- one of its roles), so nobody learns another login's dealers through it.
create or replace function access.dealer_codes(who name)
returns setof text
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select a.dealer_code
    from etl.bi_dealer_access as a
    inner join pg_catalog.pg_roles as r on r.rolname = a.role_name
    where pg_catalog.pg_has_role(session_user, who, 'MEMBER')
      and pg_catalog.pg_has_role(who, r.oid, 'MEMBER')
$$;

-- True for every role that is not a dealer login, and for a member of bi_reader: they see
-- every dealer. Only members of bi_dealer (and not of bi_reader) are restricted.
create or replace function access.sees_every_dealer()
returns boolean
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select pg_catalog.pg_has_role(current_user, 'bi_reader', 'MEMBER')
        or not pg_catalog.pg_has_role(current_user, 'bi_dealer', 'MEMBER')
$$;

revoke all on function access.dealer_codes(name) from public;
revoke all on function access.sees_every_dealer() from public;
grant execute on function access.dealer_codes(name) to public;
grant execute on function access.sees_every_dealer() to public;
