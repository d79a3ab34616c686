-- A view: millions of rows that are a renamed, masked copy of an indexed table, so the
-- daily build does not copy them again (the BI role reads it as a mart; the view runs
-- with its owner's rights).
{{ config(materialized='view') }}
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
