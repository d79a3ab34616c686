-- Extraction and loading (issue: extract and load). Raw landing tables are created by
-- the loader from the feed catalogue (baoke.extract.catalog), all with the same shape;
-- this file holds the bookkeeping every feed shares.

-- One row per committed batch: a batch's raw rows, its rejects and this row commit in
-- one transaction, so a batch is either here with all its rows or absent entirely.
create table if not exists etl.load_batches (
    batch_id            bigserial primary key,
    feed                text        not null,  -- dms | insurer | oem | callcenter
    entity              text        not null,  -- repair_orders, POLICY, lost_customers, outcomes...
    scope               text        not null,  -- dealer code, insurer code, or '' for group-wide
    source              text        not null,  -- URL without credentials, or file path
    raw_table           text        not null,
    business_date       date        not null,  -- the run that loaded it
    window_since        timestamptz,           -- incremental window read (APIs), null = all history
    window_until        timestamptz,
    started_at          timestamptz not null,
    finished_at         timestamptz not null default clock_timestamp(),
    extracted           integer     not null,
    loaded              integer     not null,
    rejected            integer     not null,
    duplicates_skipped  integer     not null,
    constraint every_record_accounted_for check (extracted = loaded + rejected + duplicates_skipped)
);
create index if not exists load_batches_feed on etl.load_batches (feed, entity, scope, business_date);

-- Records that could not be loaded, with where they came from and why. Kept with the
-- record text: nothing a feed sent is lost. (Holds personal data: loader role only.)
create table if not exists etl.rejects (
    batch_id    bigint not null references etl.load_batches,
    feed        text   not null,
    entity      text   not null,
    source      text   not null,
    locator     text   not null,  -- "page 3 row 17", "line 42"
    field       text   not null,  -- the first offending field, or '' for the whole record
    reason      text   not null,
    record      text   not null   -- the record as received
);
create index if not exists rejects_batch on etl.rejects (batch_id);

-- Incremental state per feed/entity/scope: the end of the last window read.
create table if not exists etl.extract_state (
    feed        text        not null,
    entity      text        not null,
    scope       text        not null,
    high_water  timestamptz not null,
    batch_id    bigint      not null references etl.load_batches,
    updated_at  timestamptz not null default now(),
    primary key (feed, entity, scope)
);

-- Every file seen in an inbox, by content: the same name with other bytes is another row.
create table if not exists etl.files (
    file_id         bigserial primary key,
    feed            text        not null,
    name            text        not null,   -- POLICY_PICC_20261120.csv
    folder          text        not null,   -- insurer code, or '' (call center)
    file_date       date        not null,   -- the day whose records it holds
    size_bytes      bigint      not null,
    sha256          text        not null,
    encoding        text,
    status          text        not null
        check (status in ('loaded', 'superseded', 'incomplete', 'rejected')),
    batch_id        bigint      references etl.load_batches,
    superseded_by   bigint      references etl.files,
    message         text,
    redeliveries    integer     not null default 0,  -- identical bytes seen again, skipped
    first_seen_at   timestamptz not null default now(),
    status_at       timestamptz not null default now(),
    unique (feed, folder, name, sha256)
);

-- Calls the platform has put on a list (filled by the outbound export): a returned
-- outcome must name one of them.
create table if not exists etl.sent_calls (
    call_id      text primary key,
    list_date    date not null,
    dealer_code  text not null,
    customer_id  text not null,
    channel      text not null
);
