-- Retention and erasure (outputs.md §5, issue 17).

-- What each purge removed (baoke.retention, the baoke_retention DAG): one row per file
-- removed from the outbound folder or an inbox, and one row per purge of rejected
-- records (how many payloads were blanked). Ages are measured from the run's business
-- date (cutoff = D - the configured age), so a backfill purges what the day purged.
create table if not exists etl.purges (
    purge_id       bigserial   primary key,
    business_date  date        not null,  -- the run that purged
    kind           text        not null check (kind in ('lists', 'inbox', 'rejects')),
    location       text        not null,  -- the file (path or sftp://host/path), or etl.rejects
    items          integer     not null check (items >= 0),  -- 1 per file; rows for rejects
    bytes          bigint      not null check (bytes >= 0),  -- size of the file or payloads removed
    older_than     date        not null,  -- the cutoff: what is dated before it was purged
    db_user        text        not null default session_user,
    purged_at      timestamptz not null default now()
);
create index if not exists purges_date on etl.purges (business_date, kind);

-- A rejected record past its age keeps its row (batch, source, locator, field, the
-- reason without the value it quoted), so every batch's rejects can still be counted
-- and traced; only its payload is blanked, and `payload_purged_on` says by which run.
alter table etl.rejects add column if not exists payload_purged_on date;

-- Erasure requests (PIPL Art. 47, `baoke privacy erase`): one row per erased customer
-- (a second request for the same customer changes nothing and adds no row). The loader
-- reads it to pseudonymise every later DMS version of the customer on load.
create table if not exists etl.erasures (
    customer_id       text        primary key,
    reason            text,
    pseudonym_name    text        not null,
    pseudonym_mobile  text        not null,
    pseudonym_address text        not null,
    rows_changed      integer     not null check (rows_changed >= 0),
    db_user           text        not null default session_user,
    os_user           text        not null,
    erased_at         timestamptz not null default now()
);

-- Both are append-only records: nobody updates or deletes them.
create or replace trigger purges_append_only
    before update or delete or truncate on etl.purges
    for each statement execute function etl.refuse_audit_change();
create or replace trigger erasures_append_only
    before update or delete or truncate on etl.erasures
    for each statement execute function etl.refuse_audit_change();

-- The outreach log stays append-only, with one exception the law makes: an erasure may
-- replace the mobile of an erased customer's rows by the customer's pseudonym (PIPL
-- Art. 47 outranks the log's history), and nothing else. DELETE and TRUNCATE stay
-- refused for every row; an UPDATE is checked row by row.
create or replace function etl.outreach_log_erasure_only() returns trigger
language plpgsql as $$
declare
    pseudonym text;
begin
    select e.pseudonym_mobile into pseudonym from etl.erasures e where e.customer_id = old.customer_id;
    if pseudonym is null
       or new.mobile is distinct from pseudonym
       or (to_jsonb(new) - 'mobile') is distinct from (to_jsonb(old) - 'mobile') then
        raise exception '%.% is append-only: % refused', tg_table_schema, tg_table_name, tg_op
            using errcode = 'restrict_violation',
                  hint = 'only an erasure (etl.erasures) may replace an erased customer''s mobile';
    end if;
    return new;
end
$$;

drop trigger if exists outreach_log_append_only on etl.outreach_log;
create or replace trigger outreach_log_append_only
    before delete or truncate on etl.outreach_log
    for each statement execute function etl.refuse_outreach_log_change();
create or replace trigger outreach_log_erasure_only
    before update on etl.outreach_log
    for each row execute function etl.outreach_log_erasure_only();

revoke all on etl.purges, etl.erasures from public;
grant select, insert on etl.purges, etl.erasures to baoke_loader;
grant usage on sequence etl.purges_purge_id_seq to baoke_loader;
grant update (record, reason, payload_purged_on) on etl.rejects to baoke_loader;
grant select on etl.erasures to baoke_transformer;
