-- The rows of the dealers' daily complaints files for D (outputs.md §3, rules §6), for
-- the service manager: every case open as of D, and every case that closed on D-1 past a
-- service level (so that a breach is seen even when the case opened and closed between
-- two files); with the customer to call back (name and mobile from the DMS), the visit
-- and advisor concerned, and what the customer said. One row per case and D.
with cases as (
    select * from {{ ref('int_complaint_case_levels') }}
),

customers as (
    select * from {{ ref('stg_dms__customers') }}
)

select
    {{ business_date() }} as business_date,
    'complaint' as list_type,
    cases.case_id,
    cases.dealer_code,
    cases.customer_id,
    customers.customer_name,
    customers.mobile,
    cases.vin,
    cases.ro_number,
    cases.advisor_id,
    cases.case_source as source,
    cases.complaint_category as category,
    cases.severity,
    to_char(cases.opened_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') as opened_at,
    cases.case_status as status,
    case when cases.is_registered then 'yes' else 'no' end as registered,
    cases.breached,
    cases.customer_said
from cases
left join customers on cases.customer_id = customers.customer_id
where
    cases.is_open
    or (cases.breached is not null and cases.closed_date = {{ business_date() }} - 1)
