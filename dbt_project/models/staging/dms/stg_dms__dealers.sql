{{ config(unique_key='dealer_code') }}

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
        {{ field('updated_at') }}::timestamptz as updated_at
    from source
)

select * from renamed
