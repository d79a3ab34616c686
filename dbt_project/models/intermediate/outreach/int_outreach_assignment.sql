-- Who calls (rules §3): each customer's call row of D - held out or not, so that the
-- holdout is drawn from the customers who would be called today (rules §5: like with
-- like) - goes to the queue of its lead reason (outreach_reasons.queue), then to a person:
--   service_advisor:  the advisor of the customer's latest visit (int_customer_advisor)
--                     if still active, else the least-loaded active service advisor;
--   sales_consultant: the vehicle's sales_consultant_id if still active, else the
--                     least-loaded active sales consultant;
--   followup_agent, renewal_specialist: the least-loaded active staff of the role;
--   a dealer with no active staff of the queue's role: the service_advisor rule, and the
--   row's queue is service_advisor (the role of who was assigned).
-- Least-loaded is exact, not approximated: rows are given one after the other in placement
-- order (priority, due date, customer), each to its own person or else to the person of
-- the pool (the dealer's active staff of the queue's role) with the fewest rows given so
-- far (ties: the lowest advisor_id). A person's rows beyond their role's cap (queue_caps,
-- else max_calls_per_advisor) are over the cap: carried to tomorrow.
-- How: the pools are independent (a person is in one pool: their dealer and role; a row
-- with a person of its own is walked in that person's pool), so one recursive walk steps
-- through every pool at once, one row per pool and step, carrying the pool's loads as an
-- array (persons in advisor_id order). Steps = the largest pool's rows of the day (a few
-- thousand on a backlog day); each step touches one row per pool, through hash joins on
-- small relations (the pools; the walk's rows, hashed once and reused by every step).
-- Hash joins only (the pre-hook, for this model's transaction): PostgreSQL estimates the
-- rows of the filtered window results (`rank_without_holdout = 1`) at one or two, and
-- then nests loops over tens of thousands of rows.
-- One row per customer with a call row on D.
{{ config(
    pre_hook="set local enable_nestloop = off",
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

call_rows as (
    select
        routed.customer_id,
        routed.dealer_code,
        routed.vin,
        routed.priority,
        routed.due_date,
        case when row_pool.queue is not null then reasons.queue else 'service_advisor' end as queue
    from routed
    inner join reasons on routed.reason = reasons.reason
    left join pools as row_pool on routed.dealer_code = row_pool.dealer_code and reasons.queue = row_pool.queue
    where routed.routing = 'call' and routed.rank_without_holdout = 1
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

-- step n gives each pool's n-th row to its own person, or else to the first person
-- (lowest advisor_id) with the fewest rows so far; `loads` is after the step
walk (pool_id, place, person_index, loads) as (
    select
        pool_id,
        0::bigint,
        0,
        array_fill(0, array[persons_in_pool])
    from pool_ids
    union all
    select
        walk.pool_id,
        walk_rows.place,
        chosen.person_index,
        walk.loads[:chosen.person_index - 1]
        || (walk.loads[chosen.person_index] + 1)
        || walk.loads[chosen.person_index + 1:]
    from walk
    inner join walk_rows on walk.pool_id = walk_rows.pool_id and walk.place + 1 = walk_rows.place
    cross join lateral (  -- an aggregate: computed once per step, not once per use
        select
            case
                when walk_rows.own_index > 0 then walk_rows.own_index
                else array_position(walk.loads, min(person_load))
            end as person_index
        from unnest(walk.loads) as person_load
    ) as chosen
),

assigned as (
    select
        walk_rows.customer_id,
        pool_ids.persons[walk.person_index] as advisor_id,
        pool_ids.queue,
        walk.loads[walk.person_index] > pool_ids.cap as over_cap
    from walk
    inner join walk_rows on walk.pool_id = walk_rows.pool_id and walk.place = walk_rows.place
    inner join pool_ids on walk.pool_id = pool_ids.pool_id
)

select
    with_own.customer_id,
    assigned.advisor_id,
    coalesce(assigned.queue, with_own.queue) as queue,
    coalesce(assigned.over_cap, false) as over_cap  -- a dealer with no active staff: no one to call
from with_own
left join assigned on with_own.customer_id = assigned.customer_id
