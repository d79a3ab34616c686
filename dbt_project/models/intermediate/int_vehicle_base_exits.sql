-- When each vehicle that is no longer owned left the active base (rules §2, §9): the first
-- version of its last run of `sold` or `scrapped` versions, in the order staging reads them
-- (version time, then batch and place in it). A past month's base is the vehicles owned at
-- its end, so a car sold since still has that month's status (int_vehicle_churn_monthly).
-- A car first loaded already gone left on that version's date (the DMS dates a version by
-- the latest change to the record: for such a car, no earlier than its sale).
with vehicles as (
    select * from {{ ref('int_vehicles_resolved') }}
    where not is_owned
),

versions as (
    select * from {{ ref('stg_dms__vehicle_versions') }}
),

ordered as (
    select
        versions.vin,
        versions.version_at,
        coalesce(versions.vehicle_status in ('sold', 'scrapped'), false) as is_gone,
        row_number() over by_version as version_no
    from vehicles
    inner join versions on vehicles.vin = versions.vin
    window by_version as (partition by versions.vin order by versions.version_at, versions.batch_id, versions.locator)
),

-- each version beside the car's last owned one (0: never owned in the versions loaded)
numbered as (
    select
        *,
        coalesce(max(version_no) filter (where not is_gone) over (partition by vin), 0) as last_owned_no
    from ordered
)

select
    vin,
    (min(version_at) at time zone 'Asia/Shanghai')::date as left_base_on
from numbered
where is_gone and version_no > last_owned_no
group by vin
