-- Who is a candidate for the lists of D (rules §3), and why: one row per customer,
-- reason, due event and source.
--   due:             a reason newly due today - not listed before for the same due event
--                    (int_outreach_past_events), or listed longer ago than its cooldown;
--   retry:           a further attempt the day after a not-reached call (3 attempts);
--   failed_reminder: the day after the third not-reached attempt (to the SMS list);
--   callback:        a callback the customer asked for, on the day asked (attempt 1);
--   overflow:        a first listing (due, or already carried) over yesterday's cap, at the
--                    same priority and due date, and whether it is still due today (its due
--                    event in int_outreach_due): one no longer due expires
--                    (int_outreach_routing), never silently. A further attempt, a callback
--                    or a corrected number carried over the cap keeps its source and
--                    attempt_no: it is owed once listed, never expires nor draws the holdout;
--   wrong_number:    a number reported wrong yesterday (today's exceptions file, or the
--                    call list if the DMS number has changed since).
-- What brings a row back is the follow_up of its call's last outcome (outcome_codes seed).
with reasons as (
    select * from {{ ref('outreach_reasons') }}
),

-- not materialized: the carried rows look their due event up by int_outreach_due's index.
-- PostgreSQL estimates yesterday's follow-ups (an OR of three filters) at one row and
-- joins them in a nested loop: over a materialized copy, that read every due row once
-- per follow-up (50 s a day on `medium`, 0.1 s by the index).
due as not materialized (
    select * from {{ ref('int_outreach_due') }}
),

past_events as (
    select * from {{ ref('int_outreach_past_events') }}
),

history as (
    select * from {{ ref('stg_platform__outreach_log') }}
),

call_results as (
    select * from {{ ref('int_outreach_call_results') }}
),

new_due as (
    select
        due.customer_id,
        due.vin,
        due.dealer_code,
        due.reason,
        due.priority,
        due.channel,
        due.event_key,
        due.due_date,
        due.campaign_code,
        'due' as source,
        1 as attempt_no,
        true as is_still_due
    from due
    inner join reasons on due.reason = reasons.reason
    left join past_events
        on
            due.customer_id = past_events.customer_id and due.reason = past_events.reason
            and due.event_key = past_events.event_key
    where
        past_events.last_listed is null
        or (
            reasons.cooldown_days is not null
            and {{ days_before_d('past_events.last_listed') }} >= reasons.cooldown_days
        )
),

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
            -- carried: a first listing stays one (`overflow`); a further attempt, a callback
            -- or a corrected number stays what it was, with its attempt_no
            when history.disposition = 'overflow' and history.source in ('due', 'overflow') then 'overflow'
            when history.disposition = 'overflow' then history.source
            when call_results.follow_up = 'callback' then 'callback'
            when call_results.follow_up = 'wrong_number' then 'wrong_number'
            when history.attempt_no < 3 then 'retry'
            else 'failed_reminder'
        end as source,
        case
            when call_results.follow_up = 'callback' then 1
            when call_results.follow_up = 'retry' then least(history.attempt_no + 1, 3)
            else history.attempt_no
        end as attempt_no,
        -- a carried first listing is judged again; a further attempt or a callback, carried
        -- or not, is owed once listed
        history.disposition <> 'overflow' or history.source not in ('due', 'overflow')
        or still_due.event_key is not null as is_still_due
    from history
    left join call_results on history.call_id = call_results.call_id
    left join due as still_due
        on
            history.disposition = 'overflow' and history.customer_id = still_due.customer_id
            and history.reason = still_due.reason and history.event_key = still_due.event_key
    where
        (history.business_date = {{ business_date() }} - 1 and history.disposition = 'overflow')
        or (
            history.business_date = {{ business_date() }} - 1 and history.disposition = 'call'
            and call_results.follow_up in ('retry', 'wrong_number')
        )
        or (
            history.disposition = 'call' and call_results.follow_up = 'callback'
            and call_results.callback_date = {{ business_date() }}
        )
)

select * from new_due
union all
select * from follow_ups
