-- Who is really lost (rules §9), per dealer and OEM period: the OEM's listed vehicles by
-- the dealer's own status at the period's end, with the OEM's reason hint; the dealer's
-- at_risk and churned vehicles the OEM does not list; and the share of all these on which
-- both agree (listed, and at_risk or churned for the dealer). The vehicles are classed in
-- int_oem_churn_reconciliation. Not listed reads `NOT_LISTED`, no status `not_in_base`.
with compared as (
    select * from {{ ref('int_oem_churn_reconciliation') }}
),

grouped as (
    select
        dealer_code,
        period,
        period_end_date,
        coalesce(oem_status, 'NOT_LISTED') as oem_status,
        coalesce(dealer_status, 'not_in_base') as dealer_status,
        reason_hint,
        reconciliation_class,
        both_agree,
        count(*) as vehicles
    from compared
    group by 1, 2, 3, 4, 5, 6, 7, 8
)

select
    dealer_code,
    period,
    period_end_date,
    oem_status,
    dealer_status,
    reason_hint,
    reconciliation_class,
    both_agree,
    vehicles,
    (sum(vehicles) over (partition by dealer_code, period))::bigint as compared_vehicles,
    coalesce(sum(vehicles) filter (where both_agree) over (partition by dealer_code, period), 0)::bigint
        as agreed_vehicles,
    round(
        coalesce(sum(vehicles) filter (where both_agree) over (partition by dealer_code, period), 0)::numeric
        / sum(vehicles) over (partition by dealer_code, period),
        4
    )::numeric(5, 4) as agreement_share
from grouped
