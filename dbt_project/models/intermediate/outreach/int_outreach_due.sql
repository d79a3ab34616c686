-- Everyone due on D for each outreach reason (rules §3), before any suppression: one row
-- per (customer, vehicle, reason, due event), with the reason's priority, channel and
-- campaign from the `outreach_reasons` seed. Each family of reasons is its own model
-- (int_outreach_due__*, views read once, here); this table is what the decisions read.
-- Reasons 1-12 are about the vehicles the customer owns on D (the active base,
-- int_outreach_due__vehicles), except COMPLAINT_FOLLOWUP (3), about a complaint case;
-- POINTS_EXPIRY (13, over those vehicles) and BIRTHDAY about the customer. `event_key`
-- identifies the due event a reason is listed once for (the insurer claim, the visit, the
-- case, the vehicle, the due date, the policy, the vehicle's current lapse, the customer's
-- absence, the year, the recall on the vehicle, the recommendation and its trigger).
-- Indexed by due event: int_outreach_candidates looks yesterday's carried rows up in it.
{{ config(indexes=[{'columns': ['customer_id', 'reason', 'event_key']}]) }}

with reasons as (
    select * from {{ ref('outreach_reasons') }}
),

accident as (
    select * from {{ ref('int_outreach_due__accident') }}
),

post_service as (
    select * from {{ ref('int_outreach_due__post_service') }}
),

complaint as (
    select * from {{ ref('int_outreach_due__complaint') }}
),

vehicle_milestones as (
    select * from {{ ref('int_outreach_due__vehicle_milestones') }}
),

maintenance as (
    select * from {{ ref('int_outreach_due__maintenance') }}
),

insurance as (
    select * from {{ ref('int_outreach_due__insurance') }}
),

winback as (
    select * from {{ ref('int_outreach_due__winback') }}
),

birthday as (
    select * from {{ ref('int_outreach_due__birthday') }}
),

recall as (
    select * from {{ ref('int_outreach_due__recall') }}
),

declined_work as (
    select * from {{ ref('int_outreach_due__declined_work') }}
),

all_due as (
    select * from accident
    union all
    select * from post_service
    union all
    select * from complaint
    union all
    select * from vehicle_milestones
    union all
    select * from maintenance
    union all
    select * from insurance
    union all
    select * from winback
    union all
    select * from birthday
    union all
    select * from recall
    union all
    select * from declined_work
)

select
    {{ business_date() }} as business_date,
    all_due.customer_id,
    all_due.vin,
    all_due.dealer_code,
    all_due.reason,
    reasons.priority,
    reasons.channel,
    all_due.event_key,
    all_due.due_date,
    reasons.campaign_code
from all_due
inner join reasons on all_due.reason = reasons.reason
