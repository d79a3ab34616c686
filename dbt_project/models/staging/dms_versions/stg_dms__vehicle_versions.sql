-- Every version of a vehicle record the platform has loaded by D (the DMS keeps no date of
-- a sale or scrapping; the version that first says `sold` or `scrapped` dates it). A view:
-- read for the few vehicles that left the base, by key. (Not in `dms/`: those are the
-- latest versions, merged incrementally.)
{{ config(materialized='view') }}

with source as (
    select
        r.record,
        r.record_key,
        r.version_at,
        r.batch_id,
        r.locator
    from (select * from {{ source('raw', 'dms_vehicles') }}) as r
    where
        r.version_at < {{ business_day_start() }}
        and {{ known_by_d(source('raw', 'dms_vehicles'), 'r.batch_id') }}
        and not exists (
            select 1 from (select * from {{ source('etl', 'files') }}) as f
            where f.batch_id = r.batch_id and f.status <> 'loaded'
        )
),

renamed as (
    select
        record_key as vin,
        {{ field('status') }} as vehicle_status,
        version_at,
        batch_id,
        locator
    from source
)

select * from renamed
