-- A customer's status is the best over the vehicles they currently own (rules §2:
-- new > active > lapsing > at_risk > churned). One row per customer per business date.
-- A run replaces all of its date's rows (unique_key business_date).
-- Its data tests check the rows of D only (meta build_date_column: macros/tests/as_of_d.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='business_date',
    indexes=[{'columns': ['business_date']}],
    on_schema_change='append_new_columns',
    meta={'build_date_column': 'business_date'}
) }}

with vehicles as (
    select * from {{ ref('int_vehicle_churn') }}
),

best as (
    select distinct on (customer_id)
        business_date,
        customer_id,
        dealer_code,
        churn_status,
        days_since_last_visit,
        last_visit_date
    from vehicles
    order by customer_id, status_rank, days_since_last_visit, vin
),

counts as (
    select
        customer_id,
        count(*) as vehicles_owned
    from vehicles
    group by customer_id
)

select
    best.business_date,
    best.customer_id,
    best.dealer_code,
    best.churn_status,
    best.days_since_last_visit,
    best.last_visit_date,
    counts.vehicles_owned
from best
inner join counts using (customer_id)
