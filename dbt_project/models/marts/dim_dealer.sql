select
    dealer_code,
    dealer_name,
    brand,
    city,
    province,
    opened_date
from {{ ref('stg_dms__dealers') }}
