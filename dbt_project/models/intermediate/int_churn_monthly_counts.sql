-- The active base at each KPI month's end, counted (rules §2, §4): per dealer, month,
-- vehicle-age bucket and churn status, the vehicles of int_vehicle_churn_monthly. One pass
-- over its 24 months × every vehicle, read by the churn figures of kpi_dealer_monthly
-- (流失率) and churn_rate_by_vehicle_age. A vehicle's age is the whole years from its
-- delivery to the month's last day (the day before its as-of date); a vehicle without a
-- delivery date has no age bucket.
with statuses as (
    select * from {{ ref('int_vehicle_churn_monthly') }}
),

targets as (
    select * from {{ ref('churn_rate_targets') }}
),

-- each bucket's age range in years (its lower bound: the previous bucket's upper one), so
-- that a vehicle finds its bucket by a join on a four-row table, not a lookup per row
buckets as (
    select
        age_bucket,
        max_age_years,
        lag(max_age_years) over (order by bucket_order) as min_age_years
    from targets
)

select
    statuses.dealer_code,
    statuses.month,
    buckets.age_bucket,
    statuses.churn_status,
    count(*) as vehicles,
    -- the month has ended: its status is as of the day after its last day
    bool_and(statuses.as_of_date = (statuses.month + interval '1 month')::date) as is_final
from statuses
left join buckets
    on
        statuses.delivery_date is not null
        and (
            buckets.max_age_years is null
            or statuses.delivery_date > (statuses.as_of_date - 1) - make_interval(years => buckets.max_age_years)
        )
        and (
            buckets.min_age_years is null
            or statuses.delivery_date <= (statuses.as_of_date - 1) - make_interval(years => buckets.min_age_years)
        )
group by statuses.dealer_code, statuses.month, buckets.age_bucket, statuses.churn_status
