-- Rules §3 "who calls": each call-list row (and each row carried over a cap) is in the
-- queue of its primary reason - unless the row's dealer has no active staff of that role,
-- when it is in `service_advisor` - and the person it went to has the queue's role (an
-- advisor record without a role is a service advisor). So no renewal lands on a service
-- advisor where a 续保专员 exists. Returns the offending rows.
-- Each build checks the day it decides (D); earlier days were checked by their own builds.
with decisions as (
    select * from {{ ref('int_outreach_decisions') }}
    where disposition in ('call', 'overflow') and is_list_row and business_date = {{ business_date() }}
),

reasons as (
    select * from {{ ref('outreach_reasons') }}
),

advisors as (
    select * from {{ ref('stg_dms__advisors') }}
),

staffed_roles as (
    select distinct
        dealer_code,
        coalesce(role, 'service_advisor') as role
    from advisors
    where is_active
)

select
    decisions.customer_id,
    decisions.dealer_code,
    decisions.reason,
    decisions.queue,
    reasons.queue as reason_queue,
    decisions.advisor_id,
    coalesce(advisors.role, 'service_advisor') as advisor_role
from decisions
inner join reasons on decisions.reason = reasons.reason
left join staffed_roles
    on decisions.dealer_code = staffed_roles.dealer_code and reasons.queue = staffed_roles.role
left join advisors on decisions.advisor_id = advisors.advisor_id
where
    decisions.queue is distinct from
    case when staffed_roles.role is not null then reasons.queue else 'service_advisor' end
    or coalesce(advisors.role, 'service_advisor') is distinct from decisions.queue
