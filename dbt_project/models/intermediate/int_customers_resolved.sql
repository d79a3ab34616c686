-- Identity (rules §1): a customer record merged into another (merged_into_customer_id)
-- counts as the customer it was merged into, everywhere. Merges can chain (A -> B -> C):
-- follow them to the surviving record. One row per customer record, merged ones included.
with recursive customers as (
    select * from {{ ref('stg_dms__customers') }}
),

chain as (
    select
        customer_id,
        customer_id as resolved_customer_id,
        merged_into_customer_id as next_id,
        0 as depth
    from customers
    union all
    select
        chain.customer_id,
        target.customer_id as resolved_customer_id,
        target.merged_into_customer_id as next_id,
        chain.depth + 1 as depth
    from chain
    inner join customers as target on chain.next_id = target.customer_id
    where chain.depth < 10 and target.customer_id <> chain.resolved_customer_id
),

resolved as (
    select distinct on (customer_id)
        customer_id,
        resolved_customer_id
    from chain
    order by customer_id asc, depth desc
)

select
    resolved.customer_id,
    resolved.resolved_customer_id,
    resolved.customer_id <> resolved.resolved_customer_id as is_merged
from resolved
