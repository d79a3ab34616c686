{{ config(unique_key='card_no', indexes=[{'columns': ['card_no'], 'unique': true}, {'columns': ['merged_for_date']}]) }}

with source as (
    {{ latest_raw_records(source('raw', 'dms_memberships')) }}
),

renamed as (
    select
        {{ field('card_no') }} as card_no,
        {{ field('customer_id') }} as customer_id,
        {{ field('dealer_code') }} as dealer_code,
        {{ field('tier') }} as member_tier,
        coalesce(({{ field('points_balance') }})::integer, 0) as points_balance,
        {{ field('points_expire_date') }}::date as points_expire_date,
        {{ field('updated_at') }}::timestamptz as updated_at,
        {{ source_version_columns() }}
    from source
)

select * from renamed
