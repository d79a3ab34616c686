-- When each vehicle that is no longer owned left the active base (rules §2, §9): the first
-- version of its last run of `sold` or `scrapped` versions. A past month's base is the
-- vehicles owned at its end, so a car sold since still has that month's status
-- (int_vehicle_churn_monthly). A car first loaded already gone left on that version's date
-- (the DMS dates a version by the change that made it).
with vehicles as (
    select * from {{ ref('int_vehicles_resolved') }}
    where not is_owned
),

versions as (
    select * from {{ ref('stg_dms__vehicle_versions') }}
),

gone_vehicle_versions as (
    select
        versions.vin,
        versions.version_at,
        versions.vehicle_status in ('sold', 'scrapped') as is_gone
    from vehicles
    inner join versions on vehicles.vin = versions.vin
),

last_owned as (
    select
        vin,
        max(version_at) filter (where not is_gone) as last_owned_at
    from gone_vehicle_versions
    group by vin
)

select
    gone_vehicle_versions.vin,
    (min(gone_vehicle_versions.version_at) at time zone 'Asia/Shanghai')::date as left_base_on
from gone_vehicle_versions
inner join last_owned on gone_vehicle_versions.vin = last_owned.vin
where
    gone_vehicle_versions.is_gone
    and (last_owned.last_owned_at is null or gone_vehicle_versions.version_at > last_owned.last_owned_at)
group by gone_vehicle_versions.vin
