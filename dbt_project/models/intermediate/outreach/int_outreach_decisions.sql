-- The day's outreach decisions (rules §3, §5): where each candidate of D ends, and why.
-- Placement, after routing (int_outreach_routing) and assignment (int_outreach_assignment):
--   - a row carried over yesterday's cap that is no longer due ends as `expired` (routing);
--   - a newly due reason whose list row's lead reason draws the holdout is held out, with
--     every other newly due reason on that row (a first listing carried over the cap was
--     drawn on its due day; a further attempt or a callback is not): recorded, not sent,
--     so it takes no place under the cap (int_outreach_assignment leaves it out), and
--     has no person or queue;
--   - else a call row over its person's cap is carried to tomorrow (`overflow`);
--   - one row per customer per day: a customer called today gets their SMS reasons on
--     the same call, as other reasons; the highest-priority reason leads the list row
--     (`is_list_row`), whose id and file are the lead row's dealer's;
--   - who calls (advisor_id) and their role (queue) on the customer's call and overflow
--     rows; the time slot of the attempt: the first attempt in the slot of the customer's
--     latest reached call (int_customer_first_slot, else MORNING), each next attempt in
--     the next slot of the cycle MORNING -> AFTERNOON -> EVENING -> MORNING.
-- Only D's rows: earlier days are what the export recorded (etl.outreach_log), read by
-- `int_outreach_history`. The export logs each row with the dealer whose files carry it.
-- dispositions: call | sms | exception | holdout | overflow | expired | suppressed
-- One row per candidate (customer, reason, due event, source).
{{ config(
    pre_hook="set local enable_nestloop = off",
    indexes=[{'columns': ['call_id']}, {'columns': ['customer_id']}, {'columns': ['export_dealer_code']}]
) }}

with routed as (
    select * from {{ ref('int_outreach_routing') }}
),

assignment as (
    select * from {{ ref('int_outreach_assignment') }}
),

first_slots as (
    select * from {{ ref('int_customer_first_slot') }}
),

placed as (
    select
        routed.*,
        assignment.advisor_id,
        assignment.queue,
        coalesce(array_position(array['MORNING', 'AFTERNOON', 'EVENING'], first_slots.first_slot), 1)
            as first_slot_index,
        case
            when
                routed.routing in ('call', 'sms', 'exception') and routed.source = 'due'
                and routed.lead_draws_holdout then 'holdout'
            when routed.routing = 'call' and assignment.over_cap then 'overflow'
            else routed.routing
        end as list_type
    from routed
    left join assignment on routed.customer_id = assignment.customer_id and routed.routing = 'call'
    left join first_slots on routed.customer_id = first_slots.customer_id
),

merged as (
    select
        *,
        case
            when list_type = 'sms' and bool_or(list_type = 'call') over (partition by customer_id) then 'call'
            else list_type
        end as final_list,
        max(advisor_id) over (partition by customer_id) as customer_advisor_id,
        max(queue) over (partition by customer_id) as customer_queue
    from placed
),

final as (
    select
        *,
        final_list in ('call', 'sms', 'exception', 'overflow') as is_on_list,
        row_number() over lead_first as rank_in_list,
        first_value(dealer_code) over lead_first as list_dealer_code
    from merged
    window lead_first as (  -- an overflow row keeps the place it would have had on the call list
        partition by customer_id, case final_list when 'overflow' then 'call' else final_list end
        order by
            (routing <> final_list and final_list <> 'overflow'), priority, (source = 'due'), due_date,
            reason, event_key
    )
)

select
    {{ business_date() }} as business_date,
    customer_id,
    vin,
    dealer_code,
    reason,
    priority,
    channel,
    event_key,
    due_date,
    campaign_code,
    source,
    attempt_no,
    final_list as disposition,
    case
        when final_list = 'overflow' then 'advisor_cap'
        when final_list = 'holdout' then 'holdout'
        when final_list in ('call', 'sms', 'exception') and rank_in_list > 1 then 'listed_as_other_reason'
        else why
    end as why_not_called,
    is_on_list and rank_in_list = 1 as is_list_row,
    case
        when is_on_list
            then
                case final_list when 'overflow' then 'CA' else upper(left(final_list, 2)) end
                || '-' || list_dealer_code || '-' || to_char({{ business_date() }}, 'YYYYMMDD') || '-' || customer_id
        when final_list = 'holdout'
            then
                'HO-' || dealer_code || '-' || to_char({{ business_date() }}, 'YYYYMMDD') || '-'
                || customer_id || '-' || reason || '-' || event_key
    end as call_id,
    (array['MORNING', 'AFTERNOON', 'EVENING'])[(first_slot_index + attempt_no - 2) % 3 + 1] as preferred_slot,
    case when final_list in ('call', 'overflow') then customer_advisor_id end as advisor_id,
    case when final_list in ('call', 'overflow') then customer_queue end as queue,
    mobile,
    mobile_as_recorded,
    source = 'failed_reminder' as is_failed_reminder,
    routing as routing_without_holdout,
    rank_without_holdout = 1 as leads_without_holdout,
    case when is_on_list then list_dealer_code else dealer_code end as export_dealer_code
from final
