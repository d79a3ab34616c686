-- 流失率 by vehicle age (rules §4): per dealer and month, the share of the active base
-- at month end that is at_risk or churned, by years since delivery, beside the industry
-- target for that age. The status at each month end comes from the visit history
-- (int_vehicle_churn_monthly, counted by age in int_churn_monthly_counts), so every one
-- of the `kpi_months` months has its rates.
with counts as (
    select * from {{ ref('int_churn_monthly_counts') }}
    where age_bucket is not null
),

targets as (
    select * from {{ ref('churn_rate_targets') }}
),

by_bucket as (
    select
        counts.dealer_code,
        counts.month,
        counts.age_bucket,
        targets.bucket_order,
        targets.target_churn_rate,
        sum(counts.vehicles)::bigint as active_base,
        coalesce(sum(counts.vehicles) filter (where counts.churn_status in ('at_risk', 'churned')), 0)::bigint
            as churned_or_at_risk,
        bool_and(counts.is_final) as is_final
    from counts
    inner join targets on counts.age_bucket = targets.age_bucket
    group by counts.dealer_code, counts.month, counts.age_bucket, targets.bucket_order, targets.target_churn_rate
)

select
    dealer_code,
    month,
    age_bucket,
    bucket_order,
    active_base,
    churned_or_at_risk,
    round(churned_or_at_risk::numeric / active_base, 4)::numeric(5, 4) as churn_rate,
    target_churn_rate::numeric(5, 4) as target_churn_rate,
    round(churned_or_at_risk::numeric / active_base, 4) < target_churn_rate as meets_target,
    is_final
from by_bucket
