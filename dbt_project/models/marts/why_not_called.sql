-- The dealer's question "why wasn't this customer called?" (rules §3): every candidate
-- of the day that is not the lead reason of a phone-list row, with the reason it is
-- not (holdout, completed, in workshop, sold or moved, no consent, invalid or wrong
-- number, advisor cap, SMS only, listed as another reason of the same call...).
-- Incremental: a run replaces its own date's rows; a full refresh rebuilds every day from
-- the outreach history (int_outreach_history: the export's log, then D).
-- Its data tests check the rows of D only (meta build_date_column: macros/tests/as_of_d.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='business_date',
    indexes=[{'columns': ['business_date']}, {'columns': ['customer_id']}],
    on_schema_change='append_new_columns',
    meta={'build_date_column': 'business_date'}
) }}

select
    business_date,
    customer_id,
    vin,
    dealer_code,
    reason,
    event_key,
    due_date,
    source,
    disposition,
    coalesce(
        why_not_called,
        case when disposition = 'sms' then 'sms_list' end
    ) as why_not_called,
    call_id
from {{ ref('int_outreach_history') }}
where
    not (disposition = 'call' and is_list_row)
    {% if is_incremental() %}
        and business_date = {{ business_date() }}
    {% endif %}
