-- The Chinese label of each code the marts carry without one (docs/outputs.md §2): what
-- a BI user and the monthly report show beside a code.
with

labels as (
    select * from {{ ref('code_labels') }}
)

select
    code_type,
    code,
    label_zh
from labels
