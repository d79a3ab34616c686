-- Every version of a vehicle record the platform has loaded by D (the DMS keeps no date of
-- a sale or scrapping; the version that first says `sold` or `scrapped` dates it). A view:
-- read for the few vehicles that left the base, by key. (Not in `dms/`: those are the
-- latest versions, merged incrementally.)
{{ config(materialized='view') }}

with source as (
    {{ raw_versions_as_of_d(source('raw', 'dms_vehicles')) }}
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
