{{ config(
    unique_key='complaint_id',
    indexes=[{'columns': ['complaint_id'], 'unique': true}, {'columns': ['merged_for_date']}]
) }}

with source as (
    {{ latest_raw_records(source('raw', 'dms_complaints')) }}
),

renamed as (
    select
        {{ field('complaint_id') }} as complaint_id,
        {{ field('dealer_code') }} as dealer_code,
        {{ field('customer_id') }} as customer_id,
        {{ field('vin') }} as vin,
        {{ field('ro_number') }} as ro_number,
        {{ field('source') }} as complaint_source,
        {{ field('category') }} as complaint_category,
        {{ field('severity') }} as severity,
        {{ field('opened_at') }}::timestamptz as opened_at,
        {{ field('first_response_at') }}::timestamptz as first_response_at,
        {{ field('closed_at') }}::timestamptz as closed_at,
        {{ field('status') }} as complaint_status,
        {{ field('updated_at') }}::timestamptz as updated_at,
        {{ source_version_columns() }}
    from source
)

select * from renamed
