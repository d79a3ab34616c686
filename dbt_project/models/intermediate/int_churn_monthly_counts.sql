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

-- each month and its as-of date (as int_vehicle_churn_monthly: the day after its end, or D)
months as (
    select
        month_start::date as month,
        least((month_start + interval '1 month')::date, {{ business_date() }}) as as_of_date
    from {{ kpi_month_series() }} as month_start
),

-- per month, where the buckets begin as delivery dates: a vehicle is at most N years old
-- at the month's last day if delivered on or after (that day - N years) + 1. The bounds
-- ascend (oldest bucket first) so that width_bucket() finds a vehicle's bucket with one
-- call per row: 0 is the unbounded (oldest) bucket, or none if the seed has none. A join
-- on the buckets' age ranges instead cost four interval computations per vehicle-month.
month_buckets as (
    select
        months.month,
        coalesce(array_agg(
            ((months.as_of_date - 1) - make_interval(years => targets.max_age_years))::date + 1
            order by targets.bucket_order desc
        ) filter (where targets.max_age_years is not null), '{}') as delivered_from,
        array_prepend(
            max(targets.age_bucket) filter (where targets.max_age_years is null),
            array_agg(targets.age_bucket order by targets.bucket_order desc)
            filter (where targets.max_age_years is not null)
        ) as age_buckets
    from months
    cross join targets
    group by months.month
)

select
    statuses.dealer_code,
    statuses.month,
    month_buckets.age_buckets[width_bucket(statuses.delivery_date, month_buckets.delivered_from) + 1] as age_bucket,
    statuses.churn_status,
    count(*) as vehicles,
    -- the month has ended: its status is as of the day after its last day
    bool_and(statuses.as_of_date = (statuses.month + interval '1 month')::date) as is_final
from statuses
inner join month_buckets on statuses.month = month_buckets.month
group by
    statuses.dealer_code,
    statuses.month,
    month_buckets.age_buckets[width_bucket(statuses.delivery_date, month_buckets.delivered_from) + 1],
    statuses.churn_status
