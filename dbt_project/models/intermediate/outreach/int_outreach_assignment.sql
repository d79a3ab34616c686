-- Who calls (rules §3): each customer's call row of D goes to the queue of its lead reason
-- (outreach_reasons.queue), then to a person:
--   service_advisor:  the advisor of the customer's latest visit (int_customer_advisor)
--                     if still active, else the least-loaded active service advisor;
--   sales_consultant: the vehicle's sales_consultant_id if still active, else the
--                     least-loaded active sales consultant;
--   followup_agent, renewal_specialist: the least-loaded active staff of the role;
--   a dealer with no active staff of the queue's role: the service_advisor rule, and the
--   row's queue is service_advisor (the role of who was assigned).
-- Held-out rows take no place (rules §5: recorded, not sent): a newly due reason whose
-- row's lead reason draws the holdout is left out, and the customer's call row is led by
-- the highest-priority call reason left (a first listing carried over the cap was drawn
-- on its due day; a further attempt or a callback is never held out); a customer whose
-- call reasons are all held out has no call row here (int_outreach_decisions holds them
-- out, with no person).
-- Least-loaded is exact, not approximated: rows are given one after the other in placement
-- order (priority, due date, customer), each to its own person or else to the person of
-- the pool (the dealer's active staff of the queue's role) with the fewest rows given so
-- far (ties: the lowest advisor_id). A person's rows beyond their role's cap (queue_caps,
-- else max_calls_per_advisor) are over the cap: carried to tomorrow.
-- How: the pools are independent (a person is in one pool: their dealer and role; a row
-- with a person of its own is walked in that person's pool), so one recursive walk steps
-- through every pool at once, one row per pool and step, carrying the pool's loads as an
-- array (persons in advisor_id order). A pool's walk stops once everyone in it has reached
-- the cap: every later row is then over the cap whoever gets it, so it goes to its own
-- person, else round the pool's persons (the least loaded at the stop first) - which of
-- the full persons a carried row went over decides nothing (tomorrow places it afresh).
-- So the steps are at most the rows of a pool until all its persons are full (about the
-- sum of its caps, more only when own rows pile up on some persons), not the pool's rows;
-- each step reads one row per pool, by position, from an array of the pool's rows in
-- placement order (one array per pool, built once): a step's cost does not grow with the
-- day's rows (a join on the walk's rows at each step scanned all of them, 57 s on a
-- 500,000-row day).
-- Hash joins only (the pre-hook, for this model's transaction): PostgreSQL estimates the
-- rows of the filtered window results at one or two, and then nests loops over tens of
-- thousands of rows.
-- One row per customer with a call row on D (after the holdout).
{{ config(
    pre_hook="set local enable_nestloop = off; set local enable_mergejoin = off",
    indexes=[{'columns': ['customer_id'], 'unique': true}]
) }}

with recursive routed as (
    select * from {{ ref('int_outreach_routing') }}
),

reasons as (
    select * from {{ ref('outreach_reasons') }}
),

queue_caps as (
    select * from {{ ref('queue_caps') }}
),

advisors as (
    select * from {{ ref('stg_dms__advisors') }}
),

customer_advisor as (
    select * from {{ ref('int_customer_advisor') }}
),

vehicles as (
    select * from {{ ref('stg_dms__vehicles') }}
),

staff as (  -- who may be given calls: active, in one pool (dealer, role)
    select
        advisor_id,
        dealer_code,
        coalesce(role, 'service_advisor') as role  -- rows staged before roles existed
    from advisors
    where is_active
),

pools as (
    select
        staff.dealer_code,
        staff.role as queue,
        array_agg(staff.advisor_id order by staff.advisor_id) as persons,
        coalesce(max(queue_caps.max_calls), {{ var('max_calls_per_advisor') }}) as cap
    from staff
    left join queue_caps on staff.role = queue_caps.queue
    group by staff.dealer_code, staff.role
),

-- the customer's call row: the lead of the call reasons not held out (the order of
-- int_outreach_decisions' list rows)
call_rows as (
    select distinct on (routed.customer_id)
        routed.customer_id,
        routed.dealer_code,
        routed.vin,
        routed.priority,
        routed.due_date,
        case when row_pool.queue is not null then reasons.queue else 'service_advisor' end as queue
    from routed
    inner join reasons on routed.reason = reasons.reason
    left join pools as row_pool on routed.dealer_code = row_pool.dealer_code and reasons.queue = row_pool.queue
    where
        routed.routing = 'call'
        and not (routed.lead_draws_holdout and routed.source = 'due')
    order by
        routed.customer_id, routed.priority, (routed.source = 'due'), routed.due_date, routed.reason,
        routed.event_key
),

with_own as (
    select
        call_rows.*,
        own_staff.advisor_id as own_person_id,
        coalesce(own_staff.dealer_code, call_rows.dealer_code) as pool_dealer_code
    from call_rows
    left join customer_advisor
        on call_rows.queue = 'service_advisor' and call_rows.customer_id = customer_advisor.customer_id
    left join vehicles
        on call_rows.queue = 'sales_consultant' and call_rows.vin = vehicles.vin
    left join staff as own_staff
        on
            coalesce(customer_advisor.advisor_id, vehicles.sales_consultant_id) = own_staff.advisor_id
            and call_rows.queue = own_staff.role
),

pool_ids as (
    select
        pools.*,
        row_number() over (order by pools.dealer_code, pools.queue) as pool_id,
        cardinality(pools.persons) as persons_in_pool
    from pools
),

-- the rows to walk: every call row of a pool with staff, numbered in placement order
walk_rows as (
    select
        with_own.customer_id,
        pool_ids.pool_id,
        coalesce(array_position(pool_ids.persons, with_own.own_person_id), 0) as own_index,
        row_number() over (
            partition by pool_ids.pool_id
            order by with_own.priority, with_own.due_date, with_own.customer_id
        ) as place
    from with_own
    inner join pool_ids on with_own.pool_dealer_code = pool_ids.dealer_code and with_own.queue = pool_ids.queue
),

-- each pool's rows in placement order: who owns the n-th (0: nobody of the pool), by position
pool_rows as (
    select
        pool_id,
        array_agg(own_index order by place) as own_indexes,
        count(*) as rows_in_pool
    from walk_rows
    group by pool_id
),

-- step n gives each pool's n-th row to its own person, or else to the first person
-- (lowest advisor_id) with the fewest rows so far; `loads` is after the step. A pool's
-- walk stops before a row when everyone in the pool has reached the cap.
walk (pool_id, place, person_index, loads, cap) as (
    select
        pool_ids.pool_id,
        0::bigint,
        0,
        array_fill(0, array[pool_ids.persons_in_pool]),
        pool_ids.cap
    from pool_ids
    inner join pool_rows on pool_ids.pool_id = pool_rows.pool_id
    union all
    select
        walk.pool_id,
        walk.place + 1,
        chosen.person_index,
        walk.loads[:chosen.person_index - 1]
        || (walk.loads[chosen.person_index] + 1)
        || walk.loads[chosen.person_index + 1:],
        walk.cap
    from walk
    inner join pool_rows on walk.pool_id = pool_rows.pool_id
    cross join
        lateral (  -- an aggregate: computed once per step, not once per use
            select
                case
                    when pool_rows.own_indexes[walk.place + 1] > 0 then pool_rows.own_indexes[walk.place + 1]
                    else array_position(walk.loads, min(person_load))
                end as person_index,
                min(person_load) as least_load
            from unnest(walk.loads) as person_load
        ) as chosen
    where walk.place < pool_rows.rows_in_pool and chosen.least_load < walk.cap
),

walked as (
    select
        walk_rows.customer_id,
        pool_ids.persons[walk.person_index] as advisor_id,
        pool_ids.queue,
        walk.loads[walk.person_index] > pool_ids.cap as over_cap
    from walk
    inner join walk_rows on walk.pool_id = walk_rows.pool_id and walk.place = walk_rows.place
    inner join pool_ids on walk.pool_id = pool_ids.pool_id
),

-- where each pool's walk stopped, and its persons in the order of their loads there
stops as (
    select distinct on (pool_id)
        pool_id,
        place as last_place,
        loads
    from walk
    order by pool_id asc, place desc
),

stop_order as (
    select
        stops.pool_id,
        stops.last_place,
        person.person_index,
        row_number() over (partition by stops.pool_id order by person.person_load, person.person_index) - 1
            as turn
    from stops
    cross join lateral unnest(stops.loads) with ordinality as person (person_load, person_index)
),

-- past the stop: over the cap, to the row's own person, else round the pool's persons
past_stop as (
    select
        walk_rows.customer_id,
        walk_rows.pool_id,
        walk_rows.own_index,
        stops.last_place,
        row_number() over (partition by walk_rows.pool_id, walk_rows.own_index = 0 order by walk_rows.place) - 1
            as turn
    from walk_rows
    inner join stops on walk_rows.pool_id = stops.pool_id and walk_rows.place > stops.last_place
),

carried_past_stop as (
    select
        past_stop.customer_id,
        pool_ids.persons[coalesce(nullif(past_stop.own_index, 0), stop_order.person_index)] as advisor_id,
        pool_ids.queue,
        true as over_cap
    from past_stop
    inner join pool_ids on past_stop.pool_id = pool_ids.pool_id
    left join stop_order
        on
            past_stop.own_index = 0 and past_stop.pool_id = stop_order.pool_id
            and past_stop.turn % pool_ids.persons_in_pool = stop_order.turn
),

assigned as (
    select * from walked
    union all
    select * from carried_past_stop
)

select
    with_own.customer_id,
    assigned.advisor_id,
    coalesce(assigned.queue, with_own.queue) as queue,
    coalesce(assigned.over_cap, false) as over_cap  -- a dealer with no active staff: no one to call
from with_own
left join assigned on with_own.customer_id = assigned.customer_id
