-- The outreach log (issue 15): what each export of the call-center files recorded, for
-- every business date and dealer. The day's decisions (`int_outreach_decisions`) hold
-- only the date being built; the next days' decisions and the marts read from here what
-- was listed (or held out, or suppressed) before, instead of from the model's own
-- earlier rows. Written by the outbound export (baoke.outbound), in one transaction with
-- the dealer's `etl.sent_calls`, after its files are delivered.
--
-- Append-only: a rerun of D appends a new export with its rows; nothing is updated or
-- deleted, so the log is the history of what was sent, as it was sent. Readers take the
-- latest export of each (business_date, dealer_code).

-- One row per export of a dealer's files for D: delivered (its rows in etl.outreach_log)
-- or held (no lists went out: no rows).
create table if not exists etl.outreach_exports (
    export_id      bigserial   primary key,
    business_date  date        not null,
    dealer_code    text        not null,
    status         text        not null check (status in ('delivered', 'held')),
    run_id         text        not null,  -- the manifest's run_id
    rows_logged    integer     not null check (rows_logged >= 0),
    exported_at    timestamptz not null default now(),
    constraint held_exports_log_nothing check (status = 'delivered' or rows_logged = 0)
);
-- the latest export of a date and dealer
create index if not exists outreach_exports_latest on etl.outreach_exports (business_date, dealer_code, export_id);

-- The decisions of D the export recorded, one row per decision row of the dealer whose
-- export it was (`export_dealer_code` of int_outreach_decisions), every disposition:
-- call | sms | exception | holdout | overflow | suppressed. Same columns, names and types
-- as int_outreach_decisions (baoke.outbound.LOG_COLUMNS), after the export they belong to.
create table if not exists etl.outreach_log (
    -- deferred: the export writes its rows first, then the export row that counts them
    export_id                bigint  not null references etl.outreach_exports deferrable initially deferred,
    business_date            date    not null,
    customer_id              text,
    vin                      text,
    dealer_code              text,
    reason                   text,
    priority                 integer,
    channel                  text,
    event_key                text,
    due_date                 date,
    campaign_code            text,
    source                   text,
    attempt_no               integer,
    disposition              text,
    why_not_called           text,
    is_list_row              boolean,
    call_id                  text,
    preferred_slot           text,
    advisor_id               text,
    mobile                   text,
    is_failed_reminder       boolean,
    routing_without_holdout  text,
    leads_without_holdout    boolean
);
create index if not exists outreach_log_export on etl.outreach_log (export_id);
create index if not exists outreach_log_call on etl.outreach_log (call_id);
create index if not exists outreach_log_customer on etl.outreach_log (customer_id);

-- Append-only for real: any UPDATE, DELETE or TRUNCATE of either table is refused, by
-- whichever role (grants alone would not stop the owner).
create or replace function etl.refuse_outreach_log_change() returns trigger
language plpgsql as $$
begin
    raise exception '%.% is append-only: % refused', tg_table_schema, tg_table_name, tg_op
        using errcode = 'restrict_violation',
              hint = 'a rerun of a business date appends a new export; readers take the latest export of each date and dealer';
end
$$;

create or replace trigger outreach_exports_append_only
    before update or delete or truncate on etl.outreach_exports
    for each statement execute function etl.refuse_outreach_log_change();
create or replace trigger outreach_log_append_only
    before update or delete or truncate on etl.outreach_log
    for each statement execute function etl.refuse_outreach_log_change();

-- the export appends (no update, no delete); dbt reads the log as a source
grant select, insert on etl.outreach_exports, etl.outreach_log to baoke_loader;
grant usage on all sequences in schema etl to baoke_loader;
grant select on etl.outreach_exports, etl.outreach_log to baoke_transformer;
