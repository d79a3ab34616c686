-- Complaint cases (rules §6): one per DMS complaint, and one per call-center complaint or
-- hot alert the dealer did not register. A call is the same case as a DMS complaint of
-- the same customer opened up to `case_match_days` (2) days after it; the case then
-- follows that DMS record. A call without one is `unregistered`: open until a DMS
-- complaint of that customer opened after the call is closed, or `unregistered_lapse_days`
-- (30) pass, when it closes as `lapsed_unregistered`. Customers are matched after merges
-- (rules §1). One row per case, as of D (the DMS and the outcomes as loaded before D).
with complaints as (
    select * from {{ ref('stg_dms__complaints') }}
),

signals as (
    select * from {{ ref('int_complaint_call_signals') }}
),

identity as (
    select * from {{ ref('int_customers_resolved') }}
),

service_quality_rules as (
    select * from {{ ref('service_quality_rules') }}
),

registered as (
    select
        complaints.*,
        coalesce(identity.resolved_customer_id, complaints.customer_id) as case_customer_id
    from complaints
    left join identity on complaints.customer_id = identity.customer_id
),

calls as (
    select
        signals.*,
        coalesce(identity.resolved_customer_id, signals.customer_id) as case_customer_id,
        signals.called_at + make_interval(days => service_quality_rules.case_match_days) as matched_until,
        signals.called_at + make_interval(days => service_quality_rules.unregistered_lapse_days) as lapses_at
    from signals
    cross join service_quality_rules
    left join identity on signals.customer_id = identity.customer_id
),

-- each call with the DMS complaints that registered it
matches as (
    select
        calls.call_id,
        registered.complaint_id,
        calls.called_at
    from calls
    inner join registered
        on
            calls.case_customer_id = registered.case_customer_id
            and calls.called_at <= registered.opened_at
            and calls.matched_until >= registered.opened_at
),

first_call as (
    select distinct on (complaint_id)
        complaint_id,
        call_id
    from matches
    order by complaint_id asc, called_at asc, call_id asc
),

dms_cases as (
    select
        registered.complaint_id as case_id,
        registered.dealer_code,
        registered.case_customer_id as customer_id,
        coalesce(registered.vin, calls.vin) as vin,
        coalesce(registered.ro_number, calls.ro_number) as ro_number,
        registered.complaint_id,
        calls.call_id,
        registered.complaint_source as case_source,
        coalesce(registered.complaint_category, calls.complaint_category) as complaint_category,
        registered.severity,
        calls.csi_score,
        calls.note as customer_said,
        least(registered.opened_at, calls.called_at) as opened_at,
        registered.opened_at as service_level_start,
        registered.first_response_at,
        registered.closed_at,
        true as is_registered,
        registered.complaint_status as case_status
    from registered
    left join first_call on registered.complaint_id = first_call.complaint_id
    left join calls on first_call.call_id = calls.call_id
),

unregistered as (
    select calls.*
    from calls
    where not exists (
        select 1 from matches
        where matches.call_id = calls.call_id
    )
),

-- a later DMS complaint of the customer, closed, closes the unregistered case
closed_later as (
    select
        unregistered.call_id,
        min(registered.closed_at) as closed_at
    from unregistered
    inner join registered
        on
            unregistered.case_customer_id = registered.case_customer_id
            and unregistered.called_at < registered.opened_at
            and unregistered.lapses_at >= registered.closed_at
    group by unregistered.call_id
),

call_cases as (
    select
        'CALL-' || unregistered.call_id as case_id,
        unregistered.dealer_code,
        unregistered.case_customer_id as customer_id,
        unregistered.vin,
        unregistered.ro_number,
        null::text as complaint_id,
        unregistered.call_id,
        case when unregistered.is_hot_alert then 'hot_alert' else 'call_center' end as case_source,
        unregistered.complaint_category,
        null::text as severity,
        unregistered.csi_score,
        unregistered.note as customer_said,
        unregistered.called_at as opened_at,
        unregistered.called_at as service_level_start,
        null::timestamptz as first_response_at,
        case
            when closed_later.closed_at is not null then closed_later.closed_at
            when unregistered.lapses_at <= {{ business_day_start() }} then unregistered.lapses_at
        end as closed_at,
        false as is_registered,
        case
            when closed_later.closed_at is not null then 'closed'
            when unregistered.lapses_at <= {{ business_day_start() }} then 'lapsed_unregistered'
            else 'unregistered'
        end as case_status
    from unregistered
    left join closed_later on unregistered.call_id = closed_later.call_id
)

select * from dms_cases
union all
select * from call_cases
