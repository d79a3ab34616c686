-- One row per claim; repaired in the group when its repairer (维修单位代码) is a dealer of
-- the group (rules §7), not merely named.
with claims as (
    select * from {{ ref('stg_insurer__claims') }}
),

group_dealers as (
    select dealer_code from {{ ref('stg_dms__dealers') }}
)

select
    claims.claim_no,
    claims.policy_no,
    claims.vin,
    claims.loss_date,
    claims.report_date,
    claims.assessed_amount,
    claims.repair_dealer_code,
    group_dealers.dealer_code is not null as repaired_in_group,
    claims.claim_status,
    claims.file_date
from claims
left join group_dealers on claims.repair_dealer_code = group_dealers.dealer_code
