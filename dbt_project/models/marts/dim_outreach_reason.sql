-- The outreach reasons (rules.md §3) as BI users and the monthly report label them: each
-- reason is a standing campaign (rules.md §5), its Chinese name, kind and queue.
with

reasons as (
    select * from {{ ref('outreach_reasons') }}
)

select
    reason,
    term_zh as reason_zh,
    campaign_code,
    kind,
    queue,
    channel,
    priority,
    holdout_pct
from reasons
