{{ config(
    unique_key='ro_number',
    indexes=[
        {'columns': ['ro_number'], 'unique': true},
        {'columns': ['merged_for_date']},
        {'columns': ['vin']},
        {'columns': ['customer_id']},
        {'columns': ['close_date']},
    ]
) }}

with source as (
    {{ latest_raw_records(source('raw', 'dms_repair_orders')) }}
),

renamed as (
    select
        {{ field('ro_number') }} as ro_number,
        {{ field('dealer_code') }} as dealer_code,
        {{ field('vin') }} as vin,
        {{ field('customer_id') }} as customer_id,
        {{ field('advisor_id') }} as advisor_id,
        {{ field('open_date') }}::date as open_date,
        {{ field('close_date') }}::date as close_date,
        ({{ field('mileage_km') }})::integer as mileage_km,
        {{ field('service_type') }} as service_type,
        {{ field('status') }} as ro_status,
        ({{ field('labor_amount') }})::numeric(12, 2) as labor_amount,
        ({{ field('parts_amount') }})::numeric(12, 2) as parts_amount,
        ({{ field('total_amount') }})::numeric(12, 2) as total_amount,
        {{ field('appointment_id') }} as appointment_id,
        {{ field('campaign_code') }} as campaign_code,
        {{ field('insurance_claim_no') }} as insurance_claim_no,
        {{ field('updated_at') }}::timestamptz as updated_at,
        {{ source_version_columns() }}
    from source
)

select * from renamed
