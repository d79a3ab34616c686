-- Rules §3 reason 3, COMPLAINT_FOLLOWUP (投诉回访): a complaint case (rules §6) that closed
-- (or lapsed unregistered) exactly 3 days before D (the `outreach_reasons` window), for
-- the case's customer, at the case's dealer. Listed once per case, about the close date
-- + 3.
{{ config(materialized='view') }}

with reasons as (
    select * from {{ ref('outreach_reasons') }}
),

cases as (
    select
        *,
        (closed_at at time zone 'Asia/Shanghai')::date as closed_date
    from {{ ref('int_complaint_cases') }}
    where case_status in ('closed', 'lapsed_unregistered')
)

select
    cases.customer_id,
    cases.vin,
    cases.dealer_code,
    'COMPLAINT_FOLLOWUP' as reason,
    cases.case_id as event_key,
    cases.closed_date + reasons.window_max_days as due_date
from cases
inner join reasons on reasons.reason = 'COMPLAINT_FOLLOWUP'
where {{ days_before_d('cases.closed_date') }} between reasons.window_min_days and reasons.window_max_days
