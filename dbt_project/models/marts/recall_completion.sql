-- Recall completion (召回完成率, rules §8) per dealer and recall, as of D: the vehicles on
-- the dealer's recall listing, how many are complete (a group order carrying the recall,
-- or the manufacturer reports it done at any dealer of the brand), and where.
with recalls as (
    select * from {{ ref('int_recall_status') }}
)

select
    dealer_code,
    recall_code,
    max(recall_name) as recall_name,
    min(published_date) as published_date,
    count(*) as vehicles_affected,
    count(*) filter (where remedy_available) as vehicles_with_remedy_available,
    count(*) filter (where is_completed) as vehicles_completed,
    count(*) filter (where completed_where = 'group') as vehicles_completed_in_group,
    count(*) filter (where completed_where = 'other_dealer') as vehicles_completed_elsewhere,
    round(count(*) filter (where is_completed)::numeric / count(*), 4)::numeric(5, 4) as recall_completion_rate
from recalls
group by dealer_code, recall_code
