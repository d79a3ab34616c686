-- Rules §3 reason 9, INSURANCE_RENEWAL (续保提醒): the vehicle's latest policy (the latest
-- end date; a renewal already issued supersedes the policy it renews) ends 1-45 days
-- after D (the `outreach_reasons` window). Listed once per policy, about its end date.
-- Policies without a VIN are not about a vehicle and are ignored.
{{ config(materialized='view') }}

with reasons as (
    select * from {{ ref('outreach_reasons') }}
),

vehicles as (
    select * from {{ ref('int_outreach_due__vehicles') }}
),

policies as (
    select * from {{ ref('stg_insurer__policies') }}
),

latest_policies as (
    select distinct on (vin)
        vin,
        policy_no,
        end_date
    from policies
    where vin is not null
    order by vin asc, end_date desc, issue_date desc, policy_no asc
)

select
    vehicles.customer_id,
    vehicles.vin,
    vehicles.dealer_code,
    'INSURANCE_RENEWAL' as reason,
    latest_policies.policy_no as event_key,
    latest_policies.end_date as due_date
from latest_policies
inner join vehicles on latest_policies.vin = vehicles.vin
inner join reasons on reasons.reason = 'INSURANCE_RENEWAL'
where latest_policies.end_date - {{ business_date() }} between reasons.window_min_days and reasons.window_max_days
