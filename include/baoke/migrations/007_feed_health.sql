-- When a feed misbehaves (docs/feeds.md §5): what the platform records so that nothing
-- is lost, nothing is counted twice, and nothing slips by unseen.

-- What a run found wrong with a feed, per business date: a degraded batch, a stale or
-- empty source, a volume anomaly, an unannounced field, a dealer's lists held. Read by
-- `baoke run`'s summary, by each extraction DAG's `feed_health` task (which fails
-- visibly) and by the affected dealers' manifests. One row per (D, feed, scope, kind,
-- subject): a rerun of D finds the same problems and adds nothing.
create table if not exists etl.feed_reports (
    report_id      bigserial   primary key,
    business_date  date        not null,
    feed           text        not null,  -- dms | insurer | oem | callcenter | outbound
    scope          text        not null,  -- dealer code, insurer code, or '' (group)
    dealer_code    text,                  -- the dealer it affects; null = every dealer
    kind           text        not null
        check (kind in ('degraded', 'stale', 'empty', 'volume', 'unannounced_field', 'held', 'failed')),
    subject        text        not null,  -- what it is about: an entity, a file, a field
    message        text        not null,  -- one line a person can act on
    batch_id       bigint      references etl.load_batches,
    reported_at    timestamptz not null default now(),
    unique (business_date, feed, scope, kind, subject)
);
create index if not exists feed_reports_dealer on etl.feed_reports (business_date, dealer_code);

-- A rejected record is a fact about that record version: kept once, counted once,
-- however often a lookback re-reads it. Rows kept before this migration get a key of
-- their own (their repeats stay, as history).
alter table etl.rejects add column if not exists reject_key text;
update etl.rejects set reject_key = md5(batch_id::text || locator || record) where reject_key is null;
alter table etl.rejects alter column reject_key set not null;
create unique index if not exists rejects_once on etl.rejects (feed, entity, reject_key);
-- the loader keeps a batch's rejects (learning how many are new) before it writes the
-- batch's log row, in the same transaction
alter table etl.rejects alter constraint rejects_batch_id_fkey deferrable initially deferred;

-- The newest version a batch loaded (DMS freshness: no change for a dealer in a day),
-- and how many of its skipped records were rejects already kept.
alter table etl.load_batches add column if not exists newest_version_at timestamptz;
alter table etl.load_batches add column if not exists rejects_repeated integer not null default 0;

-- Fields a feed sent that its contract does not name: recorded once, with where they
-- first appeared.
create table if not exists etl.unannounced_fields (
    feed           text        not null,
    entity         text        not null,
    field          text        not null,
    first_batch_id bigint      not null references etl.load_batches,
    first_locator  text        not null,
    first_seen_on  date        not null,  -- the business date of that batch
    first_seen_at  timestamptz not null default now(),
    primary key (feed, entity, field)
);

-- A file whose bytes were already loaded under another name is a re-delivery: recorded,
-- never loaded twice, never an error.
alter table etl.files drop constraint if exists files_status_check;
alter table etl.files add constraint files_status_check
    check (status in ('loaded', 'superseded', 'incomplete', 'rejected', 'redelivered'));
alter table etl.files add column if not exists redelivery_of bigint references etl.files;
create index if not exists files_sha on etl.files (feed, folder, sha256);

-- One run at a time per warehouse: `baoke run` holds an advisory lock and says here
-- who it is, so a second run can name the one in progress.
create table if not exists etl.runs (
    run_id         bigserial   primary key,
    business_date  date        not null,
    command        text        not null,
    host           text        not null,
    pid            integer     not null,
    log_path       text,
    started_at     timestamptz not null default now(),
    finished_at    timestamptz,
    status         text        -- null while running; success | failed
);

grant select, insert, update on etl.feed_reports, etl.unannounced_fields, etl.runs to baoke_loader;
-- a rerun of D recomputes its stale and held reports (feedreports.clear)
grant delete on etl.feed_reports to baoke_loader;
grant usage on all sequences in schema etl to baoke_loader;
grant select on etl.feed_reports, etl.unannounced_fields, etl.runs to baoke_transformer;
