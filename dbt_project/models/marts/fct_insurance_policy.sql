select
    policy_no,
    vin,
    plate_no,
    {{ mask_name('insured_name') }} as insured_name_masked,
    {{ mask_mobile('insured_mobile') }} as insured_mobile_masked,
    coverage,
    start_date,
    end_date,
    premium,
    issue_date,
    issuing_dealer_code,
    issuing_dealer_code is not null as sold_in_group,
    file_date
from {{ ref('stg_insurer__policies') }}
