-- Rules §8: each recall on each vehicle the manufacturer lists (stg_oem__recalls), as of
-- D, with whether it is complete and since when. Complete when a group repair order (not
-- void, opened before D) carries the `recall_code` as `campaign_code` - the group knows
-- the same day, the manufacturer days later - or when the manufacturer reports it
-- completed at any dealer of the brand. Completed on the earlier of the order's day (its
-- close date, or its open date while open) and the manufacturer's `completed_date`.
-- One row per recall and VIN.
with recalls as (
    select * from {{ ref('stg_oem__recalls') }}
),

group_dealers as (
    select dealer_code from {{ ref('stg_dms__dealers') }}
),

group_remedies as (  -- the first group order doing each recall on each vehicle
    select distinct on (vin, campaign_code)
        vin,
        campaign_code as recall_code,
        dealer_code,
        coalesce(close_date, open_date) as remedy_date
    from {{ ref('stg_dms__repair_orders') }}
    where
        campaign_code is not null
        and ro_status <> 'void'
        and open_date < {{ business_date() }}
    order by vin, campaign_code, coalesce(close_date, open_date), ro_number
)

select
    recalls.listed_dealer_code as dealer_code,
    recalls.recall_code,
    recalls.vin,
    recalls.recall_name,
    recalls.published_date,
    recalls.remedy_available,
    group_remedies.remedy_date as group_completed_date,
    recalls.completed_date as oem_completed_date,
    least(group_remedies.remedy_date, recalls.completed_date) as completed_date,
    coalesce(group_remedies.remedy_date, recalls.completed_date) is not null as is_completed,
    case
        when group_remedies.vin is not null or group_dealers.dealer_code is not null then 'group'
        when recalls.completed_date is not null then 'other_dealer'
    end as completed_where
from recalls
left join group_remedies on recalls.vin = group_remedies.vin and recalls.recall_code = group_remedies.recall_code
left join group_dealers on recalls.completed_dealer_code = group_dealers.dealer_code
