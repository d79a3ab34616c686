-- The outreach history as the platform recorded it (etl.outreach_log): the decision rows
-- of every business date before D, as last exported for each dealer. A rerun of a date
-- appends a new export, and the latest one is what was sent; a held dealer's latest
-- export has no rows (nothing went out). One row per decision row exported.
-- A view: the log is indexed for the lookups of the outreach models, and a copy per build
-- would grow with history.
{{ config(materialized='view') }}

with exports as (
    select * from {{ source('etl', 'outreach_exports') }}
    where business_date < {{ business_date() }}
),

latest_exports as (
    select distinct on (business_date, dealer_code)
        export_id,
        status as export_status
    from exports
    order by business_date asc, dealer_code asc, export_id desc
),

log as (
    select * from {{ source('etl', 'outreach_log') }}
)

select
    log.business_date,
    log.customer_id,
    log.vin,
    log.dealer_code,
    log.reason,
    log.priority,
    log.channel,
    log.event_key,
    log.due_date,
    log.campaign_code,
    log.source,
    log.attempt_no,
    log.disposition,
    log.why_not_called,
    log.is_list_row,
    log.call_id,
    log.preferred_slot,
    log.advisor_id,
    log.mobile,
    log.is_failed_reminder,
    log.routing_without_holdout,
    log.leads_without_holdout,
    log.queue,
    log.export_id
from log
inner join latest_exports on log.export_id = latest_exports.export_id
