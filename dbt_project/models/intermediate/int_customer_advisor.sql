-- The customer's advisor (rules §3 "who calls"): the advisor of the customer's latest
-- visit (by visit date, then repair-order number; the customer after merges), and
-- whether that advisor is still active. Defined once: the outreach assigns calls by it.
-- One row per customer with a visit.
{{ config(indexes=[{'columns': ['customer_id'], 'unique': true}]) }}

with visits as (
    select * from {{ ref('int_visits') }}
),

advisors as (
    select * from {{ ref('stg_dms__advisors') }}
),

latest_visits as (
    select distinct on (customer_id)
        customer_id,
        advisor_id
    from visits
    order by customer_id asc, visit_date desc, ro_number desc
)

select
    latest_visits.customer_id,
    latest_visits.advisor_id,
    coalesce(advisors.is_active, false) as advisor_is_active
from latest_visits
left join advisors on latest_visits.advisor_id = advisors.advisor_id
