-- One row per recall and VIN (召回), the latest version the manufacturer sent before D,
-- with the dealer whose listing it came in (the batch's scope: the items carry no dealer).
with source as (
    {{ latest_raw_records(source('raw', 'oem_recalls')) }}
),

batches as (
    select
        batch_id,
        scope
    from {{ source('etl', 'load_batches') }}
),

renamed as (
    select
        {{ field('recall_code') }} as recall_code,
        {{ field('vin') }} as vin,
        batches.scope as listed_dealer_code,
        {{ field('recall_name') }} as recall_name,
        {{ field('published_date') }}::date as published_date,
        ({{ field('remedy_available') }})::boolean as remedy_available,
        {{ field('completed_date') }}::date as completed_date,
        {{ field('completed_dealer_code') }} as completed_dealer_code,
        {{ field('updated_at') }}::timestamptz as updated_at
    from source
    inner join batches on source.batch_id = batches.batch_id
)

select * from renamed
