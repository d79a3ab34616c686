-- Rules §3 reason 1, ACCIDENT_LEAD (事故车线索): an accident reported to an insurer
-- (报案日期) 1-2 days before D (the `outreach_reasons` window), the claim still only
-- reported (已报案), no repair dealer on it (维修单位代码 empty: nobody has the car yet), and
-- no open repair order of the vehicle in the group (the car is not already in our
-- workshop, nor a repair order of the group already carrying the claim's number). The
-- call goes to the vehicle's owner in the DMS (a vehicle of the active
-- base), at the vehicle's responsible dealer: we heard of the accident, we can tow and
-- repair. Listed once per claim, about the report date. A claim without a VIN takes its
-- policy's.
{{ config(materialized='view') }}

with reasons as (
    select * from {{ ref('outreach_reasons') }}
),

vehicles as (
    select * from {{ ref('int_outreach_due__vehicles') }}
),

claims as (
    select * from {{ ref('stg_insurer__claims') }}
),

policies as (
    select * from {{ ref('stg_insurer__policies') }}
),

-- the orders either check below reads (open ones, and those naming a claim): one pass over
-- the orders, and a copy of these few columns only
repair_orders as (
    select
        vin,
        ro_status,
        insurance_claim_no
    from {{ ref('stg_dms__repair_orders') }}
    where ro_status = 'open' or insurance_claim_no is not null
),

open_repair_orders as (
    select distinct vin from repair_orders
    where ro_status = 'open'
),

-- a claim the group already repairs or repaired (its number on a repair order not void)
claims_in_workshop as (
    select distinct insurance_claim_no as claim_no from repair_orders
    where insurance_claim_no is not null and ro_status <> 'void'
),

reported_claims as (
    select
        claims.claim_no,
        claims.report_date,
        coalesce(claims.vin, policies.vin) as vin
    from claims
    left join policies on claims.policy_no = policies.policy_no
    where
        claims.claim_status = 'reported'
        and claims.repair_dealer_code is null
)

select
    vehicles.customer_id,
    vehicles.vin,
    vehicles.dealer_code,
    'ACCIDENT_LEAD' as reason,
    reported_claims.claim_no as event_key,
    reported_claims.report_date as due_date
from reported_claims
inner join vehicles on reported_claims.vin = vehicles.vin
inner join reasons on reasons.reason = 'ACCIDENT_LEAD'
left join open_repair_orders on reported_claims.vin = open_repair_orders.vin
left join claims_in_workshop on reported_claims.claim_no = claims_in_workshop.claim_no
where
    {{ days_before_d('reported_claims.report_date') }} between reasons.window_min_days and reasons.window_max_days
    and open_repair_orders.vin is null
    and claims_in_workshop.claim_no is null
