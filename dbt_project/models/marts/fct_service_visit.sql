-- A view: millions of rows that are a renamed, masked copy of an indexed table, so the
-- daily build does not copy them again (the BI role reads it as a mart; the view runs
-- with its owner's rights, so it applies the per-dealer policy itself: the `where`,
-- macros/dealer_access.sql). Its data tests check the rows the last build merged
-- (`merged_for_date` = D; meta build_date_column: macros/tests/as_of_d.sql): the others
-- were tested when they were written.
{{ config(materialized='view', meta={'build_date_column': 'merged_for_date'}) }}
select
    ro_number,
    dealer_code,
    vin,
    customer_id,
    advisor_id,
    open_date,
    visit_date,
    mileage_km,
    service_type,
    labor_amount,
    parts_amount,
    total_amount,
    appointment_id,
    appointment_id is not null as came_with_appointment,
    campaign_code,
    insurance_claim_no,
    merged_for_date
from {{ ref('int_visits') }}
where {{ bi_visible_rows('dealer_code') }}
