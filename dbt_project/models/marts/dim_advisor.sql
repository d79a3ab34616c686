select
    advisor_id,
    dealer_code,
    advisor_name,
    is_active
from {{ ref('stg_dms__advisors') }}
