-- The manufacturer's latest word on each VIN: the flag in the latest period published
-- before D for the dealer that listed it (rules §2 "the OEM's latest flag", §3 reason 8).
with lists as (
    select * from {{ ref('stg_oem__lost_customers') }}
),

latest_period as (
    select
        dealer_code,
        max(period) as period
    from lists
    group by dealer_code
)

select distinct on (lists.vin)
    lists.vin,
    lists.dealer_code,
    lists.period,
    lists.oem_status,
    lists.reason_hint,
    lists.last_service_dealer_code,
    lists.last_service_date
from lists
inner join latest_period using (dealer_code, period)
order by lists.vin asc, lists.period desc, lists.oem_status asc
