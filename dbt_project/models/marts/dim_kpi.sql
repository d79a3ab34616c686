-- The KPIs of the monthly report with their targets (rules.md §4): the catalogue seed,
-- the CSI target taken from the service-quality rules so that it is set in one place.
with

catalogue as (
    select * from {{ ref('kpi_catalogue') }}
),

service_quality_rules as (
    select * from {{ ref('service_quality_rules') }}
)

select
    catalogue.kpi,
    catalogue.label_zh,
    catalogue.unit,
    catalogue.better,
    case
        when catalogue.kpi = 'csi_index' then service_quality_rules.csi_target
        else catalogue.target
    end::numeric(7, 4) as target,
    catalogue.floor::numeric(7, 4) as floor,
    catalogue.report_order
from catalogue
cross join service_quality_rules
