-- A view: millions of rows that are a renamed, masked copy of an indexed table, so the
-- daily build does not copy them again (the BI role reads it as a mart; the view runs
-- with its owner's rights, so it applies the per-dealer policy itself: the `where`,
-- macros/dealer_access.sql). Its data tests check the rows the last build merged
-- (`merged_for_date` = D; meta build_date_column: macros/tests/as_of_d.sql): the others
-- were tested when they were written.
{{ config(materialized='view', meta={'build_date_column': 'merged_for_date'}) }}
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
    file_date,
    merged_for_date
from {{ ref('stg_insurer__policies') }}
-- no dealer_code (a policy is the insurer's): a dealer's login sees none of it
where {{ bi_visible_rows() }}
