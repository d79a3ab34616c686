select
    claim_no,
    policy_no,
    vin,
    loss_date,
    report_date,
    assessed_amount,
    repair_dealer_code,
    repair_dealer_code is not null as repaired_in_group,
    claim_status,
    file_date
from {{ ref('stg_insurer__claims') }}
