{{ config(
    unique_key='customer_id',
    indexes=[
        {'columns': ['customer_id'], 'unique': true},
        {'columns': ['merged_for_date']},
    ]
) }}

with source as (
    {{ latest_raw_records(source('raw', 'dms_customers')) }}
),

renamed as (
    select
        {{ field('customer_id') }} as customer_id,
        {{ field('dealer_code') }} as home_dealer_code,
        {{ field('name') }} as customer_name,
        {{ field('gender') }} as gender,
        {{ field('birth_date') }}::date as birth_date,
        record ->> 'mobile' as mobile_as_typed,
        {{ normalize_mobile("record ->> 'mobile'") }} as mobile,
        {{ field('city') }} as city,
        {{ field('address') }} as address,
        coalesce((record ->> 'consent_call')::boolean, false) as consent_call,
        coalesce((record ->> 'consent_sms')::boolean, false) as consent_sms,
        {{ field('member_tier') }} as member_tier,
        {{ field('merged_into_customer_id') }} as merged_into_customer_id,
        {{ field('created_at') }}::timestamptz as created_at,
        {{ field('updated_at') }}::timestamptz as updated_at,
        {{ source_version_columns() }}
    from source
)

select * from renamed
