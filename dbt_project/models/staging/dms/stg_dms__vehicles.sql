-- `sales_consultant_id` came with feeds version 2 (optional: null in older records and
-- files; added to existing warehouses without a full refresh, append_new_columns).
{{ config(
    unique_key='vin',
    on_schema_change='append_new_columns',
    indexes=[{'columns': ['vin'], 'unique': true}, {'columns': ['merged_for_date']}]
) }}

with source as (
    {{ latest_raw_records(source('raw', 'dms_vehicles')) }}
),

renamed as (
    select
        {{ field('vin') }} as vin,
        {{ field('customer_id') }} as customer_id,
        {{ field('dealer_code') }} as selling_dealer_code,
        {{ field('brand') }} as brand,
        {{ field('model') }} as model,
        ({{ field('model_year') }})::integer as model_year,
        {{ field('plate_no') }} as plate_no,
        {{ field('delivery_date') }}::date as delivery_date,
        {{ field('warranty_end_date') }}::date as warranty_end_date,
        ({{ field('warranty_end_km') }})::integer as warranty_end_km,
        {{ field('status') }} as vehicle_status,
        {{ field('sales_consultant_id') }} as sales_consultant_id,
        {{ field('updated_at') }}::timestamptz as updated_at,
        {{ source_version_columns() }}
    from source
)

select * from renamed
