-- Every outreach decision up to D (rules §3, §5): the days before D as the export
-- recorded them (etl.outreach_log, the latest export of each date and dealer: what was
-- actually sent) and D's own decisions. What the marts measure the outreach by.
-- A view: a copy per build would grow with history. One row per decision row.
{{ config(materialized='view') }}
{% set columns = [
    'business_date', 'customer_id', 'vin', 'dealer_code', 'reason', 'priority', 'channel', 'event_key',
    'due_date', 'campaign_code', 'source', 'attempt_no', 'disposition', 'why_not_called', 'is_list_row',
    'call_id', 'preferred_slot', 'advisor_id', 'mobile', 'is_failed_reminder', 'routing_without_holdout',
    'leads_without_holdout', 'queue'
] %}

with past as (
    select * from {{ ref('stg_platform__outreach_log') }}
),

today as (
    select * from {{ ref('int_outreach_decisions') }}
)

select {{ columns | join(', ') }} from past
union all
select {{ columns | join(', ') }} from today
