{{ config(
    unique_key='recommendation_id',
    indexes=[{'columns': ['recommendation_id'], 'unique': true}, {'columns': ['merged_for_date']}]
) }}

with source as (
    {{ latest_raw_records(source('raw', 'dms_recommendations')) }}
),

renamed as (
    select
        {{ field('recommendation_id') }} as recommendation_id,
        {{ field('ro_number') }} as ro_number,
        {{ field('dealer_code') }} as dealer_code,
        {{ field('vin') }} as vin,
        {{ field('customer_id') }} as customer_id,
        {{ field('advisor_id') }} as advisor_id,
        {{ field('op_code') }} as op_code,
        {{ field('description') }} as description,
        ({{ field('est_amount') }})::numeric(14, 2) as est_amount,
        {{ field('status') }} as recommendation_status,
        {{ field('defer_until') }}::date as defer_until,
        {{ field('done_ro_number') }} as done_ro_number,
        {{ field('created_at') }}::timestamptz as created_at,
        {{ field('updated_at') }}::timestamptz as updated_at,
        {{ source_version_columns() }}
    from source
)

select * from renamed
