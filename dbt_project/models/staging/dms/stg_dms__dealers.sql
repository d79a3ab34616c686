{{ config(
    unique_key='dealer_code',
    indexes=[
        {'columns': ['dealer_code'], 'unique': true},
        {'columns': ['merged_for_date']},
    ]
) }}

with source as (
    {{ latest_raw_records(source('raw', 'dms_dealers')) }}
),

renamed as (
    select
        {{ field('dealer_code') }} as dealer_code,
        {{ field('name') }} as dealer_name,
        {{ field('brand') }} as brand,
        {{ field('city') }} as city,
        {{ field('province') }} as province,
        {{ field('opened_date') }}::date as opened_date,
        {{ field('updated_at') }}::timestamptz as updated_at,
        {{ source_version_columns() }}
    from source
)

select * from renamed
