-- A customer's membership points still good on D (rules §3 POINTS_EXPIRY): the records
-- merged into them counted together (rules §1), only points whose expiry date is null or
-- on or after D (points already expired are nothing to remind of), and the earliest
-- expiry date of those points. Read by POINTS_EXPIRY (who is due) and by the export
-- (what the script and SMS say), so both speak of the same points.
-- One row per customer with a membership whose points have not expired.
{{ config(materialized='view') }}

with memberships as (
    select * from {{ ref('stg_dms__memberships') }}
),

identity as (
    select * from {{ ref('int_customers_resolved') }}
)

select
    identity.resolved_customer_id as customer_id,
    sum(memberships.points_balance) as points_balance,
    min(memberships.points_expire_date) filter (where memberships.points_balance > 0) as points_expire_date
from memberships
inner join identity on memberships.customer_id = identity.customer_id
where memberships.points_expire_date is null or memberships.points_expire_date >= {{ business_date() }}
group by identity.resolved_customer_id
