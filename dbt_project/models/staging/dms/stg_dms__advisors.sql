-- `role` came with feeds version 2 (optional: older records and files have none, read as
-- a service advisor). The column was added to existing warehouses without a full refresh
-- (on_schema_change append_new_columns): rows merged before it hold null until their
-- record changes, which readers take as 'service_advisor' too.
{{ config(
    unique_key='advisor_id',
    on_schema_change='append_new_columns',
    indexes=[
        {'columns': ['advisor_id'], 'unique': true},
        {'columns': ['merged_for_date']},
    ]
) }}

with source as (
    {{ latest_raw_records(source('raw', 'dms_advisors')) }}
),

renamed as (
    select
        {{ field('advisor_id') }} as advisor_id,
        {{ field('dealer_code') }} as dealer_code,
        {{ field('name') }} as advisor_name,
        coalesce((record ->> 'active')::boolean, false) as is_active,
        coalesce({{ field('role') }}, 'service_advisor') as role,
        {{ field('updated_at') }}::timestamptz as updated_at,
        {{ source_version_columns() }}
    from source
)

select * from renamed
