{{ config(
    unique_key='appointment_id',
    indexes=[
        {'columns': ['appointment_id'], 'unique': true},
        {'columns': ['merged_for_date']},
    ]
) }}

with source as (
    {{ latest_raw_records(source('raw', 'dms_appointments')) }}
),

renamed as (
    select
        {{ field('appointment_id') }} as appointment_id,
        {{ field('dealer_code') }} as dealer_code,
        {{ field('customer_id') }} as customer_id,
        {{ field('vin') }} as vin,
        {{ field('appointment_date') }}::date as appointment_date,
        {{ field('slot') }} as appointment_slot,
        {{ field('source') }} as booking_source,
        {{ field('status') }} as appointment_status,
        {{ field('created_at') }}::timestamptz as created_at,
        {{ field('updated_at') }}::timestamptz as updated_at,
        {{ source_version_columns() }}
    from source
)

select * from renamed
