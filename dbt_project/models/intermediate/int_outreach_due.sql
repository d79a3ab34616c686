-- Everyone due on D for each outreach reason (rules §3), before any suppression: one row
-- per (customer, vehicle, reason, due event). Windows come from the outreach_reasons
-- seed; reasons 1-9 are about the vehicles the customer owns on D (the active base),
-- BIRTHDAY about the customer. `event_key` identifies the due event a reason is listed
-- once for (the visit, the vehicle, the due date, the policy, the year). For the
-- winback and points reasons (7-9) the event is the vehicle's current lapse - the days
-- since its last visit (or delivery): `vin@last visit date`. Within it the reason is
-- listed again after its cooldown unless completed; a return visit ends it, so the next
-- lapse is a new event.
with reasons as (
    select * from {{ ref('outreach_reasons') }}
),

vehicles as (
    select
        churn.*,
        owned.warranty_end_date,
        churn.vin || '@' || coalesce(churn.last_visit_date, churn.delivery_date) as lapse_key
    from {{ ref('int_vehicle_churn') }} as churn
    inner join {{ ref('int_vehicles_resolved') }} as owned on churn.vin = owned.vin
),

visits as (
    select * from {{ ref('int_visits') }}
),

post_service as (
    select
        vehicles.customer_id,
        vehicles.vin,
        visits.dealer_code,
        'POST_SERVICE_FOLLOWUP' as reason,
        visits.ro_number as event_key,
        visits.visit_date + reasons.window_max_days as due_date
    from visits
    inner join vehicles on visits.vin = vehicles.vin
    inner join reasons on reasons.reason = 'POST_SERVICE_FOLLOWUP'
    where {{ days_before_d('visits.visit_date') }} between reasons.window_min_days and reasons.window_max_days
),

new_car as (
    select
        vehicles.customer_id,
        vehicles.vin,
        vehicles.dealer_code,
        'NEW_CAR_FOLLOWUP' as reason,
        vehicles.vin as event_key,
        vehicles.delivery_date + reasons.window_max_days as due_date
    from vehicles
    inner join reasons on reasons.reason = 'NEW_CAR_FOLLOWUP'
    where {{ days_before_d('vehicles.delivery_date') }} between reasons.window_min_days and reasons.window_max_days
),

first_service as (
    select
        vehicles.customer_id,
        vehicles.vin,
        vehicles.dealer_code,
        'FIRST_SERVICE_DUE' as reason,
        vehicles.vin as event_key,
        vehicles.delivery_date + reasons.window_max_days as due_date
    from vehicles
    inner join reasons on reasons.reason = 'FIRST_SERVICE_DUE'
    where
        vehicles.never_visited
        and {{ days_before_d('vehicles.delivery_date') }} between reasons.window_min_days and reasons.window_max_days
),

maintenance as (
    select
        vehicles.customer_id,
        vehicles.vin,
        vehicles.dealer_code,
        'MAINTENANCE_DUE' as reason,
        due.vin || '@' || due.due_date as event_key,
        due.due_date
    from {{ ref('int_maintenance_due') }} as due
    inner join vehicles on due.vin = vehicles.vin
    inner join reasons on reasons.reason = 'MAINTENANCE_DUE'
    where
        due.is_latest
        and due.due_date - {{ business_date() }} between reasons.window_min_days and reasons.window_max_days
),

latest_policies as (
    select distinct on (vin)
        vin,
        policy_no,
        end_date
    from {{ ref('stg_insurer__policies') }}
    where vin is not null
    order by vin asc, end_date desc, issue_date desc, policy_no asc
),

insurance as (
    select
        vehicles.customer_id,
        vehicles.vin,
        vehicles.dealer_code,
        'INSURANCE_RENEWAL' as reason,
        latest_policies.policy_no as event_key,
        latest_policies.end_date as due_date
    from latest_policies
    inner join vehicles on latest_policies.vin = vehicles.vin
    inner join reasons on reasons.reason = 'INSURANCE_RENEWAL'
    where latest_policies.end_date - {{ business_date() }} between reasons.window_min_days and reasons.window_max_days
),

warranty as (
    select
        vehicles.customer_id,
        vehicles.vin,
        vehicles.dealer_code,
        'WARRANTY_EXPIRY' as reason,
        vehicles.vin as event_key,
        vehicles.warranty_end_date as due_date
    from vehicles
    inner join reasons on reasons.reason = 'WARRANTY_EXPIRY'
    where vehicles.warranty_end_date - {{ business_date() }} between reasons.window_min_days and reasons.window_max_days
),

lapsing as (
    select
        customer_id,
        vin,
        dealer_code,
        'LAPSING_WINBACK' as reason,
        lapse_key as event_key,
        {{ business_date() }} as due_date
    from vehicles
    where churn_status = 'lapsing'
),

lost as (
    select
        customer_id,
        vin,
        dealer_code,
        'LOST_WINBACK' as reason,
        lapse_key as event_key,
        {{ business_date() }} as due_date
    from vehicles
    where churn_status = 'at_risk' or oem_status is not null
),

points as (
    select
        identity.resolved_customer_id as customer_id,
        sum(memberships.points_balance) as points_balance,
        min(memberships.points_expire_date) filter (where memberships.points_expire_date >= {{ business_date() }})
            as points_expire_date
    from {{ ref('stg_dms__memberships') }} as memberships
    inner join {{ ref('int_customers_resolved') }} as identity on memberships.customer_id = identity.customer_id
    group by identity.resolved_customer_id
),

points_expiry as (
    select
        vehicles.customer_id,
        vehicles.vin,
        vehicles.dealer_code,
        'POINTS_EXPIRY' as reason,
        vehicles.lapse_key as event_key,
        coalesce(points.points_expire_date, {{ business_date() }}) as due_date
    from vehicles
    inner join points on vehicles.customer_id = points.customer_id
    inner join reasons on reasons.reason = 'POINTS_EXPIRY'
    where
        points.points_balance > 0
        and vehicles.days_since_last_visit >= reasons.window_min_days
),

birthdays as (
    select
        customers.customer_id,
        null::text as vin,
        customers.home_dealer_code as dealer_code,
        'BIRTHDAY' as reason,
        customers.customer_id || '@' || extract(year from {{ business_date() }} + reasons.window_min_days) as event_key,
        {{ business_date() }} + reasons.window_min_days as due_date
    from {{ ref('stg_dms__customers') }} as customers
    inner join {{ ref('int_customers_resolved') }} as identity
        on customers.customer_id = identity.customer_id and not identity.is_merged
    inner join reasons on reasons.reason = 'BIRTHDAY'
    where
        customers.birth_date is not null
        and to_char(customers.birth_date, 'MM-DD') = to_char({{ business_date() }} + reasons.window_min_days, 'MM-DD')
),

all_due as (
    select * from post_service
    union all
    select * from new_car
    union all
    select * from first_service
    union all
    select * from maintenance
    union all
    select * from insurance
    union all
    select * from warranty
    union all
    select * from lapsing
    union all
    select * from lost
    union all
    select * from points_expiry
    union all
    select * from birthdays
)

select
    {{ business_date() }} as business_date,
    all_due.customer_id,
    all_due.vin,
    all_due.dealer_code,
    all_due.reason,
    reasons.priority,
    reasons.channel,
    all_due.event_key,
    all_due.due_date,
    reasons.campaign_code
from all_due
inner join reasons on all_due.reason = reasons.reason
