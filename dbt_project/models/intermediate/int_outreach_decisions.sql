-- The day's outreach decisions (rules §3): for every candidate on D — a reason newly due,
-- a further attempt after a not-reached call, a requested callback, a row carried over
-- from yesterday's advisor cap — what happens to it, and why. One row per candidate.
--
-- This model is its own history: the decisions of earlier days ({{ this }}) say what was
-- already listed, so it is incremental, one business date at a time, and must never be
-- rebuilt from scratch (full_refresh: false). Rebuilding a date replaces that date only.
--
-- dispositions: call | sms | exception | holdout | overflow | suppressed
-- sources: due | retry | failed_reminder | callback | overflow | wrong_number
-- Rows of a customer's call (sms, exception) row share its call_id; `is_list_row` marks
-- the one row per customer and list that carries the primary reason.
--
-- Hash joins only (the pre-hook, for this model's transaction): PostgreSQL estimates the
-- rows of filtered window results (`rank_in_list = 1`, the day's call rows) at one or two,
-- and then nests loops over tens of thousands of candidates — 55 s instead of 1 s on the
-- medium world's third day.
-- Its data tests check the rows of D only (meta build_date_column: macros/tests/as_of_d.sql).
{{ config(
    pre_hook="set local enable_nestloop = off",
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['business_date'],
    indexes=[{'columns': ['business_date']}, {'columns': ['call_id']}, {'columns': ['customer_id']}],
    full_refresh=false,
    on_schema_change='append_new_columns',
    meta={'build_date_column': 'business_date'}
) }}

with reasons as (
    select * from {{ ref('outreach_reasons') }}
),

due as (
    select * from {{ ref('int_outreach_due') }}
),

{% if is_incremental() %}
    history as (
        select * from {{ this }}
        where business_date < {{ business_date() }}
    ),
{% else %}
    history as (
        select * from (
            select
                null::date as business_date,
                null::text as customer_id,
                null::text as vin,
                null::text as reason,
                null::text as event_key,
                null::text as disposition,
                null::text as call_id,
                null::integer as attempt_no,
                null::boolean as is_list_row,
                null::text as mobile,
                null::text as source,
                null::integer as priority,
                null::date as due_date,
                null::text as dealer_code,
                null::text as campaign_code,
                null::text as channel
        ) as empty
        where false
    ),
{% endif %}

outcomes as (
    select * from {{ ref('stg_callcenter__outcomes') }}
),

-- the last word of the call center on each list row
call_results as (
    select distinct on (call_id)
        call_id,
        attempt_no as reported_attempt,
        outcome,
        callback_date,
        called_at
    from outcomes
    order by call_id asc, called_at desc, attempt_no desc
),

customers as (
    select * from {{ ref('stg_dms__customers') }}
),

do_not_call as (
    select distinct customer_id from outcomes
    where outcome = 'DO_NOT_CALL'
),

gone as (
    select distinct customer_id from outcomes
    where outcome in ('VEHICLE_SOLD', 'MOVED_AWAY')
),

-- a WRONG_NUMBER keeps the customer off phone lists until the DMS number changes
wrong_numbers as (
    select distinct
        history.customer_id,
        history.mobile
    from history
    inner join call_results on history.call_id = call_results.call_id
    where call_results.outcome = 'WRONG_NUMBER'
),

in_workshop as (
    select vin from {{ ref('stg_dms__appointments') }}
    where appointment_status = 'booked' and appointment_date >= {{ business_date() }}
    union
    select vin from {{ ref('stg_dms__repair_orders') }}
    where ro_status = 'open' and open_date < {{ business_date() }}
),

-- what was listed before, per due event (a customer's secondary reasons count too); an
-- exception (invalid or wrong number) stands while the DMS number is unchanged, so the
-- exceptions file does not repeat it every day, and a corrected number gets the call
listed_before as (
    select
        history.customer_id,
        history.reason,
        history.event_key,
        max(history.business_date) as last_listed
    from history
    left join customers on history.customer_id = customers.customer_id
    where
        history.disposition in ('call', 'sms', 'holdout', 'overflow')
        or (history.disposition = 'exception' and history.mobile is not distinct from customers.mobile)
    group by history.customer_id, history.reason, history.event_key
),

completed as (
    select distinct
        history.customer_id,
        history.reason,
        history.event_key
    from history
    inner join call_results on history.call_id = call_results.call_id
    where call_results.outcome not in ('NO_ANSWER', 'BUSY', 'POWERED_OFF', 'SMS_FAILED')
),

-- 1. reasons newly due today
new_due as (
    select
        due.*,
        'due' as source,
        1 as attempt_no
    from due
    inner join reasons on due.reason = reasons.reason
    left join listed_before
        on
            due.customer_id = listed_before.customer_id and due.reason = listed_before.reason
            and due.event_key = listed_before.event_key
    where
        listed_before.last_listed is null
        or (
            reasons.cooldown_days is not null
            and {{ days_before_d('listed_before.last_listed') }} >= reasons.cooldown_days
        )
),

-- 2-5. what earlier rows bring back today, in one pass over the history:
--   a further attempt the day after a not-reached call (3 attempts, then SMS);
--   a callback the customer asked for, on the day asked;
--   a row over yesterday's advisor cap, at the same priority;
--   a number reported wrong yesterday: today's exceptions file (wrong number), or back
--   on the call list if the DMS number has changed since.
follow_ups as (
    select
        history.customer_id,
        history.vin,
        history.dealer_code,
        history.reason,
        history.priority,
        history.channel,
        history.event_key,
        history.due_date,
        history.campaign_code,
        case
            when history.disposition = 'overflow' then 'overflow'
            when call_results.outcome = 'CALLBACK_REQUESTED' then 'callback'
            when call_results.outcome = 'WRONG_NUMBER' then 'wrong_number'
            when history.attempt_no < 3 then 'retry'
            else 'failed_reminder'
        end as source,
        case
            when call_results.outcome = 'CALLBACK_REQUESTED' then 1
            when call_results.outcome in ('NO_ANSWER', 'BUSY', 'POWERED_OFF') then least(history.attempt_no + 1, 3)
            else history.attempt_no
        end as attempt_no
    from history
    left join call_results on history.call_id = call_results.call_id
    where
        (history.business_date = {{ business_date() }} - 1 and history.disposition = 'overflow')
        or (
            history.business_date = {{ business_date() }} - 1 and history.disposition = 'call'
            and call_results.outcome in ('NO_ANSWER', 'BUSY', 'POWERED_OFF', 'WRONG_NUMBER')
        )
        or (
            history.disposition = 'call' and call_results.outcome = 'CALLBACK_REQUESTED'
            and call_results.callback_date = {{ business_date() }}
        )
),

candidates as (
    select
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
        attempt_no
    from new_due
    union all
    select * from follow_ups
),

-- the suppression that applies to each candidate, first match wins (rules §3)
judged as (
    select
        candidates.*,
        customers.mobile,
        customers.consent_call and do_not_call.customer_id is null as may_call,
        coalesce(customers.consent_sms, false) as may_sms,
        wrong_numbers.customer_id is not null as is_wrong_number,
        case
            when candidates.source = 'due' and completed.customer_id is not null then 'completed'
            when reasons.skip_if_in_workshop and in_workshop.vin is not null then 'in_workshop'
            when reasons.skip_if_gone and gone.customer_id is not null then 'vehicle_sold_or_moved'
        end as suppressed_because,
        -- the holdout draw (rules §5), for a due event's first place on a list: newly due,
        -- or carried over the cap until it gets a place
        candidates.source in ('due', 'overflow')
        and ('x' || substr(md5(
            candidates.customer_id || '|' || candidates.campaign_code || '|'
            || to_char({{ business_date() }}, 'YYYY-MM')
        ), 1, 8))::bit(32)::bigint
        < {{ var('holdout_pct') }} * 4294967296
            as draws_holdout
    from candidates
    inner join reasons on candidates.reason = reasons.reason
    left join customers on candidates.customer_id = customers.customer_id
    left join do_not_call on candidates.customer_id = do_not_call.customer_id
    left join gone on candidates.customer_id = gone.customer_id
    left join in_workshop on candidates.vin = in_workshop.vin
    left join wrong_numbers
        on candidates.customer_id = wrong_numbers.customer_id and customers.mobile = wrong_numbers.mobile
    left join completed
        on
            candidates.customer_id = completed.customer_id and candidates.reason = completed.reason
            and candidates.event_key = completed.event_key
),

-- which list each candidate goes to, and why not the phone list; a number reported
-- wrong gets neither a call nor an SMS until the DMS has another one
routed as (
    select
        judged.*,
        case
            when judged.suppressed_because is not null then 'suppressed'
            when judged.channel = 'SMS' or judged.source = 'failed_reminder' or not judged.may_call
                then
                    case
                        when not judged.may_sms or judged.mobile is null then 'suppressed'
                        when judged.is_wrong_number then 'exception'
                        else 'sms'
                    end
            when judged.mobile is null or judged.is_wrong_number then 'exception'
            else 'call'
        end as routing,
        case
            when judged.suppressed_because is not null then judged.suppressed_because
            when judged.channel = 'SMS' or judged.source = 'failed_reminder' or not judged.may_call
                then
                    case
                        when judged.mobile is null then 'invalid_mobile'
                        when not judged.may_sms then 'no_consent'
                        when judged.is_wrong_number then 'wrong_number'
                        when judged.channel = 'SMS' then 'sms_only_reason'
                        when judged.source = 'failed_reminder' then 'three_attempts_failed'
                        else 'no_call_consent'
                    end
            when judged.mobile is null then 'invalid_mobile'
            when judged.is_wrong_number then 'wrong_number'
        end as why
    from judged
),

-- the customer's place on each list, holdout or not: the highest-priority reason leads
ranked as (
    select
        routed.*,
        row_number() over by_priority as rank_without_holdout,
        first_value(routed.draws_holdout) over by_priority as lead_draws_holdout
    from routed
    window by_priority as (
        partition by customer_id, routing
        order by priority, (source = 'due'), due_date, reason, event_key
    )
),

-- who calls: the advisor of the customer's latest visit if still active, else the
-- least-loaded active advisor of the dealer
advisors as (
    select * from {{ ref('stg_dms__advisors') }}
    where is_active
),

latest_visit as (
    select distinct on (visits.customer_id)
        visits.customer_id,
        visits.advisor_id
    from {{ ref('int_visits') }} as visits
    order by visits.customer_id asc, visits.visit_date desc, visits.ro_number desc
),

own_advisor as (
    select
        latest_visit.customer_id,
        latest_visit.advisor_id
    from latest_visit
    inner join advisors on latest_visit.advisor_id = advisors.advisor_id
),

-- one call row per customer, held out or not: a held-out customer takes the place on
-- the list they would have had, so that the holdout is drawn from the customers who
-- would be called today (rules §5: like with like)
call_rows as (
    select
        ranked.*,
        own_advisor.advisor_id as own_advisor_id
    from ranked
    left join own_advisor on ranked.customer_id = own_advisor.customer_id
    where ranked.routing = 'call' and ranked.rank_without_holdout = 1
),

advisor_load as (
    select
        advisors.advisor_id,
        advisors.dealer_code,
        count(call_rows.customer_id) as own_rows
    from advisors
    left join call_rows on advisors.advisor_id = call_rows.own_advisor_id
    group by advisors.advisor_id, advisors.dealer_code
),

unassigned as (
    select
        call_rows.customer_id,
        call_rows.dealer_code,
        row_number() over (partition by call_rows.dealer_code order by call_rows.priority, call_rows.customer_id)
            as turn
    from call_rows
    where call_rows.own_advisor_id is null
),

-- each row without an advisor of its own goes, in turn, to the dealer's active advisor
-- with the fewest rows so far (then the lowest id). An advisor's k-th such row brings
-- them to own_rows + k rows, so the turns are the advisors' free slots in the order of
-- (load, advisor): slot n takes the n-th row.
-- Only the slots that can be reached are generated: the final load is at most the
-- dealer's highest own load plus an even share of the unassigned rows.
unassigned_counts as (
    select
        dealer_code,
        count(*) as unassigned_rows
    from unassigned
    group by dealer_code
),

advisor_capacity as (
    select
        advisor_load.*,
        unassigned_counts.unassigned_rows,
        max(advisor_load.own_rows) over (partition by advisor_load.dealer_code) as max_own_rows,
        count(*) over (partition by advisor_load.dealer_code) as advisors_in_dealer
    from advisor_load
    inner join unassigned_counts on advisor_load.dealer_code = unassigned_counts.dealer_code
),

advisor_slots as (
    select
        advisor_capacity.advisor_id,
        advisor_capacity.dealer_code,
        row_number() over (
            partition by advisor_capacity.dealer_code
            order by advisor_capacity.own_rows + extra.k, advisor_capacity.advisor_id
        ) as turn
    from advisor_capacity
    cross join lateral generate_series(
        0,
        least(
            advisor_capacity.unassigned_rows - 1,
            advisor_capacity.max_own_rows - advisor_capacity.own_rows
            + ceil(advisor_capacity.unassigned_rows::numeric / advisor_capacity.advisors_in_dealer)::integer
        )
    ) as extra (k)
),

assigned as (
    select
        call_rows.customer_id,
        coalesce(call_rows.own_advisor_id, advisor_slots.advisor_id) as advisor_id
    from call_rows
    left join unassigned on call_rows.customer_id = unassigned.customer_id
    left join advisor_slots
        on
            unassigned.dealer_code = advisor_slots.dealer_code
            and unassigned.turn = advisor_slots.turn
),

capped as (
    select
        assigned.customer_id,
        assigned.advisor_id,
        row_number() over (
            partition by assigned.advisor_id
            order by call_rows.priority, (call_rows.source <> 'overflow'), call_rows.due_date, call_rows.customer_id
        ) > {{ var('max_calls_per_advisor') }} as over_cap
    from assigned
    inner join call_rows on assigned.customer_id = call_rows.customer_id
),

-- the list each candidate ends on: over the cap, carried to tomorrow; else held out
-- when the reason leading its list row draws the holdout: its first listing is withheld
-- with every other first listing on that row (a further attempt or a callback is not)
placed as (
    select
        ranked.*,
        capped.advisor_id,
        case
            when ranked.routing = 'call' and capped.over_cap then 'overflow'
            when
                ranked.routing in ('call', 'sms', 'exception') and ranked.source in ('due', 'overflow')
                and ranked.lead_draws_holdout then 'holdout'
            else ranked.routing
        end as list_type
    from ranked
    left join capped on ranked.customer_id = capped.customer_id and ranked.routing = 'call'
),

-- one row per customer per day (rules §3): a customer called today gets their SMS
-- reasons (a birthday, a failed reminder) on the same call, as other reasons
merged as (
    select
        placed.*,
        case
            when placed.list_type = 'sms' and bool_or(placed.list_type = 'call') over (partition by placed.customer_id)
                then 'call'
            else placed.list_type
        end as final_list,
        max(placed.advisor_id) over (partition by placed.customer_id) as customer_advisor_id
    from placed
),

-- the list row: the highest-priority reason leads (on a call, a reason routed to the
-- phone), and the row (its call_id, its file) is the lead row's dealer's
final as (
    select
        merged.*,
        row_number() over lead_first as rank_in_list,
        first_value(merged.dealer_code) over lead_first as list_dealer_code
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
    final.customer_id,
    final.vin,
    final.dealer_code,
    final.reason,
    final.priority,
    final.channel,
    final.event_key,
    final.due_date,
    final.campaign_code,
    final.source,
    final.attempt_no,
    final.final_list as disposition,
    case
        when final.final_list = 'overflow' then 'advisor_cap'
        when final.final_list = 'holdout' then 'holdout'
        when final.final_list in ('call', 'sms', 'exception') and final.rank_in_list > 1 then 'listed_as_other_reason'
        else final.why
    end as why_not_called,
    final.final_list in ('call', 'sms', 'exception', 'overflow') and final.rank_in_list = 1 as is_list_row,
    case
        when final.final_list in ('call', 'sms', 'exception', 'overflow')
            then
                case final.final_list when 'overflow' then 'CA' else upper(left(final.final_list, 2)) end
                || '-' || final.list_dealer_code || '-'
                || to_char({{ business_date() }}, 'YYYYMMDD') || '-' || final.customer_id
        when final.final_list = 'holdout'
            then
                'HO-' || final.dealer_code || '-' || to_char({{ business_date() }}, 'YYYYMMDD') || '-'
                || final.customer_id || '-' || final.reason || '-' || final.event_key
    end as call_id,
    (array['MORNING', 'AFTERNOON', 'EVENING'])[least(final.attempt_no, 3)] as preferred_slot,
    case when final.final_list in ('call', 'overflow') then final.customer_advisor_id end as advisor_id,
    final.mobile,
    final.source = 'failed_reminder' as is_failed_reminder,
    final.routing as routing_without_holdout,
    final.rank_without_holdout = 1 as leads_without_holdout
from final
