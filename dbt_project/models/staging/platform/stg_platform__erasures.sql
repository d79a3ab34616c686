-- The customers erased on request (etl.erasures, written by `baoke privacy erase`), as
-- recorded by the platform: whoever is erased is contacted no more (rules §3).
-- One row per erased customer id (a customer merged into the erased one has its own row).
-- A view: a handful of rows, read by one model.
{{ config(materialized='view') }}

with erasures as (
    select * from {{ source('etl', 'erasures') }}
)

select
    customer_id,
    erased_at
from erasures
