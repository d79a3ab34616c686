-- The simulated world's store (SQLite). Written by the generator, read by the feed
-- servers. Timestamps are ISO-8601 strings with the +08:00 offset, so they sort as text.

-- World settings: seed, scale, clock (the simulated "now": feeds show only what is
-- visible before it), start and end of the generated timeline.
create table if not exists meta (
    key   text primary key,
    value text not null
);

-- Every version of every DMS record. A listing shows, for each primary key, the latest
-- version visible at the clock, if that version's updated_at is in the asked window.
create table if not exists dms_versions (
    entity      text not null,  -- dealers, advisors, customers, vehicles, repair_orders,
                                -- appointments, memberships, campaigns, recommendations,
                                -- complaints; and the OEM's recall items (oem_recalls, pk
                                -- recall_code|vin, versioned like the DMS records)
    pk          text not null,  -- the entity's primary key (feeds.md, first field)
    dealer_code text,           -- for the dealer_code filter: the rooftop whose DMS holds
                                -- the record (its dealer_code; a vehicle bought elsewhere:
                                -- the dealer servicing it; null: group-wide records)
    updated_at  text not null,  -- the record's updated_at
    visible_at  text not null,  -- when the API starts showing this version
                                -- (= updated_at, or later for a late write)
    record      text not null,  -- JSON object with exactly the feeds.md fields
    primary key (entity, pk, updated_at)
);
-- Its secondary indexes are in indexes.sql: a bulk generation builds them once, at the end.

-- The manufacturer's lost-customer lists: one row per item, per dealer and period.
-- A period is published (visible) from generated_at on, normally the 3rd of the next month.
create table if not exists oem_lost_customers (
    dealer_code  text not null,
    period       text not null,  -- YYYY-MM
    generated_at text not null,
    item_no      integer not null,  -- order within the list (1..total)
    record       text not null,  -- JSON item: vin, customer_name, mobile_masked,
                                 -- last_service_dealer_code, last_service_date,
                                 -- oem_status, reason_hint
    primary key (dealer_code, period, item_no)
);

-- Insurers and the rows of their daily files (feeds.md §2). A file is written into the
-- inbox once its day is before the clock: <inbox>/<insurer>/<kind>_<insurer>_<YYYYMMDD>.csv
create table if not exists insurers (
    insurer_code text primary key,
    name         text not null,
    encoding     text not null  -- 'gb18030' or 'utf-8-sig'
);
create table if not exists insurer_rows (
    insurer_code text not null,
    kind         text not null,     -- POLICY or CLAIM
    file_date    text not null,     -- YYYY-MM-DD: the day whose records the file holds
    line_no      integer not null,  -- order within the file
    fields       text not null,     -- JSON array of the row's values, as written
    primary key (insurer_code, kind, file_date, line_no)
);
