-- 产值 split by service type (rules §4): per dealer, month and service type, the visits,
-- their revenue, revenue per visit and the type's share of the month's revenue, for the
-- `kpi_months` months up to the month of D-1 (the current month so far).
with visits as (
    select * from {{ ref('int_visits') }}
    where visit_date >= {{ kpi_first_month() }} and visit_date < {{ business_date() }}
),

by_type as (
    select
        dealer_code,
        date_trunc('month', visit_date)::date as month,
        service_type,
        count(*) as visits,
        coalesce(sum(total_amount), 0) as revenue
    from visits
    group by 1, 2, 3
)

select
    dealer_code,
    month,
    service_type,
    visits,
    revenue::numeric(14, 2) as revenue,
    round(revenue / visits, 2)::numeric(12, 2) as revenue_per_visit,
    round(revenue / nullif(sum(revenue) over (partition by dealer_code, month), 0), 4)::numeric(5, 4)
        as revenue_share,
    (month + interval '1 month')::date <= {{ business_date() }} as is_final
from by_type
