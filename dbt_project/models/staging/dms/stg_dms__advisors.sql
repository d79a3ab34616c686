{{ config(
    unique_key='advisor_id',
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
        {{ field('updated_at') }}::timestamptz as updated_at,
        {{ source_version_columns() }}
    from source
)

select * from renamed
