-- Who calls (rules §3): each customer's call row of D - held out or not, so that the
-- holdout is drawn from the customers who would be called today (rules §5: like with
-- like) - goes to the customer's advisor (int_customer_advisor) if still active, else in
-- turn to the dealer's least-loaded active advisor; then each advisor's rows in placement
-- order (priority, carried-over rows first, due date, customer) beyond
-- max_calls_per_advisor are over the cap (carried to tomorrow).
-- Hash joins only (the pre-hook, for this model's transaction): PostgreSQL estimates the
-- rows of the filtered window results (`rank_without_holdout = 1`) at one or two, and
-- then nests loops over tens of thousands of rows.
-- One row per customer with a call row on D.
{{ config(
    pre_hook="set local enable_nestloop = off",
    indexes=[{'columns': ['customer_id'], 'unique': true}]
) }}

with routed as (
    select * from {{ ref('int_outreach_routing') }}
),

advisors as (
    select * from {{ ref('stg_dms__advisors') }}
    where is_active
),

customer_advisor as (
    select * from {{ ref('int_customer_advisor') }}
    where advisor_is_active
),

call_rows as (
    select
        routed.customer_id,
        routed.dealer_code,
        routed.priority,
        routed.source,
        routed.due_date,
        customer_advisor.advisor_id as own_advisor_id
    from routed
    left join customer_advisor on routed.customer_id = customer_advisor.customer_id
    where routed.routing = 'call' and routed.rank_without_holdout = 1
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
        customer_id,
        dealer_code,
        row_number() over (partition by dealer_code order by priority, customer_id) as turn,
        count(*) over (partition by dealer_code) as unassigned_rows
    from call_rows
    where own_advisor_id is null
),

-- each row without an advisor of its own goes, in turn, to the dealer's active advisor
-- with the fewest rows so far (then the lowest id). An advisor's k-th such row brings
-- them to own_rows + k rows, so the turns are the advisors' free slots in the order of
-- (load, advisor): slot n takes the n-th row. Only the slots that can be reached are
-- generated: the final load is at most the dealer's highest own load plus an even share
-- of the unassigned rows.
dealer_rows as (
    select distinct
        dealer_code,
        unassigned_rows
    from unassigned
),

advisor_capacity as (
    select
        advisor_load.*,
        dealer_rows.unassigned_rows,
        max(advisor_load.own_rows) over (partition by advisor_load.dealer_code) as max_own_rows,
        count(*) over (partition by advisor_load.dealer_code) as advisors_in_dealer
    from advisor_load
    inner join dealer_rows on advisor_load.dealer_code = dealer_rows.dealer_code
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
        call_rows.*,
        coalesce(call_rows.own_advisor_id, advisor_slots.advisor_id) as advisor_id
    from call_rows
    left join unassigned on call_rows.customer_id = unassigned.customer_id
    left join advisor_slots
        on unassigned.dealer_code = advisor_slots.dealer_code and unassigned.turn = advisor_slots.turn
)

select
    customer_id,
    advisor_id,
    row_number() over (
        partition by advisor_id
        order by priority, (source <> 'overflow'), due_date, customer_id
    ) > {{ var('max_calls_per_advisor') }} as over_cap
from assigned
