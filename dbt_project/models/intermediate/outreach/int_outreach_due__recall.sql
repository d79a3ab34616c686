-- Rules §3 reason 5 and §8, RECALL_OPEN (召回通知): a vehicle in the active base with a
-- recall published before D, its remedy available and not complete (int_recall_status:
-- neither a group order carrying its code nor the manufacturer says it is done), for the
-- vehicle's current owner, at the dealer responsible for the vehicle, about D. The due
-- event is the recall on the vehicle (`recall_code|vin`): listed again after the reason's
-- cooldown (30 days) while it stays open; a complete one is never due again.
{{ config(materialized='view') }}

with vehicles as (
    select * from {{ ref('int_outreach_due__vehicles') }}
),

recalls as (
    select * from {{ ref('int_recall_status') }}
)

select
    vehicles.customer_id,
    vehicles.vin,
    vehicles.dealer_code,
    'RECALL_OPEN' as reason,
    recalls.recall_code || '|' || recalls.vin as event_key,
    {{ business_date() }} as due_date
from recalls
inner join vehicles on recalls.vin = vehicles.vin
where
    recalls.remedy_available
    and not recalls.is_completed
    and recalls.published_date < {{ business_date() }}
