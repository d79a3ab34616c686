-- Which list each candidate of D goes to, and why not the call list (rules §3): its path
-- - `expired` for a row carried over yesterday's cap whose due event is no longer due
-- (it ends there, visibly: rules §3 "judged again"), else the suppression that applies,
-- else DO_NOT_CALL heard, else the SMS list when the reason is SMS-only, after three
-- failed attempts or without call consent, else the phone - its reason's kind (after
-- DO_NOT_CALL, SMS for `service` reasons only) and its contact facts are looked up in
-- the outreach_routing seed (a decision table, one match per row).
-- Then the customer's place on each list before the holdout: the highest-priority reason
-- leads (rank_without_holdout = 1), and whether that lead reason draws the holdout.
-- One row per candidate.
with candidates as (
    select * from {{ ref('int_outreach_suppression') }}
),

routes as (
    select * from {{ ref('outreach_routing') }}
),

with_path as (
    select
        *,
        case
            when not is_still_due then 'expired'
            when suppressed_because is not null then suppressed_because
            when heard_do_not_call then 'do_not_call'
            when channel = 'SMS' then 'sms_only_reason'
            when source = 'failed_reminder' then 'three_attempts_failed'
            when not may_call then 'no_call_consent'
            else 'phone'
        end as path
    from candidates
),

routed as (
    select
        with_path.*,
        routes.routing,
        routes.why_not_called as why
    from with_path
    left join routes  -- a row no route matches keeps a null routing: a data test fails on it
        on
            with_path.path = routes.path
            and (routes.kind is null or with_path.kind = routes.kind)
            and (routes.has_mobile is null or (with_path.mobile is not null) = routes.has_mobile)
            and (routes.may_sms is null or with_path.may_sms = routes.may_sms)
            and (routes.is_wrong_number is null or with_path.is_wrong_number = routes.is_wrong_number)
)

select
    routed.customer_id,
    routed.vin,
    routed.dealer_code,
    routed.reason,
    routed.priority,
    routed.channel,
    routed.event_key,
    routed.due_date,
    routed.campaign_code,
    routed.source,
    routed.attempt_no,
    routed.kind,
    routed.is_still_due,
    routed.mobile,
    routed.mobile_as_recorded,
    routed.may_call,
    routed.heard_do_not_call,
    routed.may_sms,
    routed.is_wrong_number,
    routed.suppressed_because,
    routed.draws_holdout,
    routed.path,
    routed.routing,
    routed.why,
    row_number() over by_priority as rank_without_holdout,
    first_value(routed.draws_holdout) over by_priority as lead_draws_holdout
from routed
window by_priority as (
    partition by customer_id, routing
    order by priority, (source = 'due'), due_date, reason, event_key
)
