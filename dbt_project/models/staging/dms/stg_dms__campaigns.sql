{{ config(
    unique_key='campaign_code',
    indexes=[
        {'columns': ['campaign_code'], 'unique': true},
        {'columns': ['merged_for_date']},
    ]
) }}

with source as (
    {{ latest_raw_records(source('raw', 'dms_campaigns')) }}
),

renamed as (
    select
        {{ field('campaign_code') }} as campaign_code,
        {{ field('dealer_code') }} as dealer_code,
        {{ field('name') }} as campaign_name,
        {{ field('type') }} as campaign_type,
        {{ field('start_date') }}::date as start_date,
        {{ field('end_date') }}::date as end_date,
        coalesce(({{ field('cost_amount') }})::numeric(12, 2), 0) as cost_amount,
        {{ field('updated_at') }}::timestamptz as updated_at,
        {{ source_version_columns() }}
    from source
)

select * from renamed
