-- What may be done with each candidate of D (rules §3, §5): the suppression that applies,
-- first match wins - erased (the customer asked to be erased: contacted no more),
-- already done (the recall the row is about is complete, the declined work done: rules §8;
-- a further attempt, a callback or a failed reminder's SMS too - nothing is left to call
-- about), completed (a newly due event whose call was completed), in the
-- workshop (a booked appointment on or after D, or an open repair order; for the reasons
-- that say so), the car sold or the customer moved (idem), an open complaint case (rules
-- §6: no `marketing` reason and no DECLINED_WORK while it is open) - and the customer's contact
-- facts: a mobile, call and SMS consent (less what the call center heard: DO_NOT_CALL,
-- UNSUBSCRIBED), whether DO_NOT_CALL was heard (then no SMS for `marketing` reasons
-- either: the routing's), a number reported wrong, the mobile as recorded in the DMS (for
-- the exceptions file). And the holdout draw (rules §5) for a newly due event, once, on
-- the day it is due (a first listing carried over the cap was drawn then), under the reason's
-- holdout share (the seed's, or the run's var `holdout_pct` for every reason when set).
-- One row per candidate.
{%- set holdout_override = var('holdout_pct', none) %}
with candidates as (
    select * from {{ ref('int_outreach_candidates') }}
),

reasons as (
    select * from {{ ref('outreach_reasons') }}
),

customers as (
    select * from {{ ref('stg_dms__customers') }}
),

blocks as (
    select * from {{ ref('int_customer_contact_blocks') }}
),

past_events as (
    select * from {{ ref('int_outreach_past_events') }}
),

in_workshop as (
    select vin from {{ ref('stg_dms__appointments') }}
    where appointment_status = 'booked' and appointment_date >= {{ business_date() }}
    union
    select vin from {{ ref('stg_dms__repair_orders') }}
    where ro_status = 'open' and open_date < {{ business_date() }}
),

done_events as (  -- the subject of a RECALL_OPEN event (`recall_code|vin`) or a DECLINED_WORK one
    select
        'RECALL_OPEN' as reason,
        recall_code || '|' || vin as subject
    from {{ ref('int_recall_status') }}
    where is_completed
    union all
    select
        'DECLINED_WORK' as reason,
        recommendation_id as subject  -- its events are `recommendation_id@trigger`
    from {{ ref('stg_dms__recommendations') }}
    where recommendation_status = 'done' or done_ro_number is not null
),

open_complaints as (
    select distinct customer_id from {{ ref('int_complaint_cases') }}
    where case_status in ('open', 'responded', 'unregistered')
)

select
    candidates.customer_id,
    candidates.vin,
    candidates.dealer_code,
    candidates.reason,
    candidates.priority,
    candidates.channel,
    candidates.event_key,
    candidates.due_date,
    candidates.campaign_code,
    candidates.source,
    candidates.attempt_no,
    reasons.kind,
    candidates.is_still_due,
    customers.mobile,
    customers.mobile_as_typed as mobile_as_recorded,
    customers.consent_call and not coalesce(blocks.blocks_calls, false) as may_call,
    coalesce(blocks.blocks_calls, false) as heard_do_not_call,
    coalesce(customers.consent_sms, false) and not coalesce(blocks.blocks_sms, false) as may_sms,
    coalesce(blocks.mobile_reported_wrong, false) as is_wrong_number,
    case
        when blocks.is_erased then 'erased'
        when done_events.reason is not null then 'already_done'
        when candidates.source = 'due' and past_events.is_completed then 'completed'
        when reasons.skip_if_in_workshop and in_workshop.vin is not null then 'in_workshop'
        when reasons.skip_if_gone and blocks.vehicle_gone then 'vehicle_sold_or_moved'
        when
            (reasons.kind = 'marketing' or candidates.reason = 'DECLINED_WORK')
            and open_complaints.customer_id is not null
            then 'open_complaint'
    end as suppressed_because,
    candidates.source = 'due'
    and ('x' || substr(md5(
        candidates.customer_id || '|' || candidates.campaign_code || '|'
        || to_char({{ business_date() }}, 'YYYY-MM')
    ), 1, 8))::bit(32)::bigint
    < {% if holdout_override is none %}reasons.holdout_pct{% else %}{{ holdout_override }}{% endif %} * 4294967296
        as draws_holdout
from candidates
inner join reasons on candidates.reason = reasons.reason
left join customers on candidates.customer_id = customers.customer_id
left join blocks on candidates.customer_id = blocks.customer_id
left join past_events
    on
        candidates.customer_id = past_events.customer_id and candidates.reason = past_events.reason
        and candidates.event_key = past_events.event_key
left join done_events
    on candidates.reason = done_events.reason and split_part(candidates.event_key, '@', 1) = done_events.subject
left join in_workshop on candidates.vin = in_workshop.vin
left join open_complaints on candidates.customer_id = open_complaints.customer_id
