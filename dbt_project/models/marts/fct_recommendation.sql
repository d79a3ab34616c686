-- Declined and deferred work (未修项目, rules §8): each recommendation with its follow-up
-- and whether the work was recaptured within 90 days.
with recommendations as (
    select * from {{ ref('int_recommendation_followups') }}
),

reasons as (
    select * from {{ ref('outreach_reasons') }}
)

select
    recommendations.recommendation_id,
    recommendations.dealer_code,
    recommendations.vin,
    recommendations.customer_id,
    recommendations.advisor_id,
    recommendations.ro_number,
    recommendations.op_code,
    recommendations.description,
    recommendations.est_amount,
    recommendations.recommended_date,
    recommendations.declined_as,
    recommendations.recommendation_status,
    recommendations.defer_until,
    recommendations.done_ro_number,
    recommendations.done_date,
    recommendations.is_recaptured,
    recommendations.recapture_window_end,
    recommendations.is_window_open,
    recommendations.first_listed_date,
    recommendations.first_held_out_date,
    recommendations.followup_group,
    reasons.campaign_code
from recommendations
left join reasons on reasons.reason = 'DECLINED_WORK'
