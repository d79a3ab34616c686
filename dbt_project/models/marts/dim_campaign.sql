-- The DMS's service campaigns (服务活动). The platform's standing outreach campaigns
-- (one per reason) join them with the outreach marts.
select
    campaign_code,
    dealer_code,
    campaign_name,
    campaign_type,
    start_date,
    end_date,
    cost_amount::numeric(12, 2) as cost_amount,
    'dms' as campaign_source
from {{ ref('stg_dms__campaigns') }}
