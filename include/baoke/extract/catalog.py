"""Every raw table the feeds land in, with the checks its records must pass (docs/feeds.md).

This is the one place a feed's shape is written down on our side: the extractors look
up their entity here, the loader creates the raw tables from it, and the DAGs publish
one Airflow Asset per entry. Each entity lists every field the contract (version 2)
names, key first (feeds.md §1 to §4): a record lacking one is rejected naming it, a
field not listed is reported once; the fields version 2 added are ``optional`` (older
sources do not send them). For the file feeds the list is the header, matched by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow.sdk import Asset

from baoke.extract.validate import RecordSpec


@dataclass(frozen=True)
class RawEntity:
    """One feed entity and the raw table it lands in (``raw.<feed>_<name>``)."""

    feed: str
    name: str
    spec: RecordSpec

    @property
    def columns(self) -> tuple[str, ...]:
        """The contract's fields, in order: for the file feeds, the header a sender writes."""
        return self.spec.fields

    @property
    def table(self) -> str:
        return f"raw.{self.feed}_{self.name.lower()}"

    @property
    def asset(self) -> Asset:
        """The Airflow Asset a load of this table publishes (the warehouse DAG waits on them)."""
        return Asset(name=self.table, uri=f"baoke://warehouse/{self.table.replace('.', '/')}", group="raw")


def _codes(*values: str) -> frozenset[str]:
    return frozenset(values)


SERVICE_TYPES = _codes(
    "PDI", "FIRST_SERVICE", "MAINTENANCE", "REPAIR", "WARRANTY", "BODY_PAINT", "ACCESSORY", "INSPECTION", "CAMPAIGN"
)
OUTCOMES = _codes(
    "BOOKED",
    "CALLBACK_REQUESTED",
    "DECLINED",
    "NO_ANSWER",
    "BUSY",
    "POWERED_OFF",
    "WRONG_NUMBER",
    "DO_NOT_CALL",
    "VEHICLE_SOLD",
    "MOVED_AWAY",
    "SERVICED_AT_OTHER_DEALER",
    "SERVICED_AT_INDEPENDENT_SHOP",
    "SMS_SENT",
    "SMS_FAILED",
    "UNSUBSCRIBED",  # v2: the customer replied to an SMS to stop them
)
ADVISOR_ROLES = _codes("service_advisor", "sales_consultant", "followup_agent", "renewal_specialist")
COMPLAINT_CATEGORIES = _codes("service_attitude", "repair_quality", "price", "waiting_time", "parts", "other")
#: What became of work an advisor recommended (feeds.md §1 ``recommendations``).
RECOMMENDATION_STATUSES = _codes("declined", "deferred", "done")
LOSS_REASONS = _codes(
    "SERVICE_QUALITY",
    "REPAIR_QUALITY",
    "PRICE",
    "DISTANCE",
    "INSURER_ASSIGNED",
    "OTHER_DEALER",
    "INDEPENDENT_SHOP",
    "NO_NEED",
    "OTHER",
)


def _fields(names: str) -> tuple[str, ...]:
    return tuple(names.split())


#: The DMS entities (feeds.md §1), primary key first, in the order they are extracted.
DMS: dict[str, RawEntity] = {
    e.name: e
    for e in (
        RawEntity(
            "dms",
            "dealers",
            RecordSpec(
                ("dealer_code",),
                _fields("dealer_code name brand city province opened_date updated_at"),
                timestamps=("updated_at",),
                dates=("opened_date",),
                required=("updated_at",),
            ),
        ),
        RawEntity(
            "dms",
            "campaigns",
            RecordSpec(
                ("campaign_code",),
                _fields("campaign_code dealer_code name type start_date end_date cost_amount updated_at"),
                required=("updated_at",),
                timestamps=("updated_at",),
                dates=("start_date", "end_date"),
                amounts=("cost_amount",),
                codes={"type": _codes("SERVICE_PROMO", "RECALL", "CARE_EVENT")},
            ),
        ),
        RawEntity(
            "dms",
            "advisors",
            RecordSpec(
                ("advisor_id",),
                _fields("advisor_id dealer_code name active role updated_at"),
                optional=("role",),
                required=("updated_at",),
                timestamps=("updated_at",),
                codes={"role": ADVISOR_ROLES},
            ),
        ),
        RawEntity(
            "dms",
            "customers",
            RecordSpec(
                ("customer_id",),
                _fields(
                    "customer_id dealer_code name gender birth_date mobile city address consent_call consent_sms"
                    " member_tier merged_into_customer_id created_at updated_at"
                ),
                required=("updated_at",),
                timestamps=("created_at", "updated_at"),
                dates=("birth_date",),
                codes={"gender": _codes("M", "F")},
            ),
        ),
        RawEntity(
            "dms",
            "vehicles",
            RecordSpec(
                ("vin",),
                _fields(
                    "vin customer_id dealer_code brand model model_year plate_no delivery_date warranty_end_date"
                    " warranty_end_km status sales_consultant_id updated_at"
                ),
                optional=("sales_consultant_id",),
                required=("updated_at",),
                timestamps=("updated_at",),
                dates=("delivery_date", "warranty_end_date"),
                integers=("model_year", "warranty_end_km"),
                codes={"status": _codes("active", "sold", "scrapped")},
            ),
        ),
        RawEntity(
            "dms",
            "repair_orders",
            RecordSpec(
                ("ro_number",),
                _fields(
                    "ro_number dealer_code vin customer_id advisor_id open_date close_date mileage_km service_type"
                    " status labor_amount parts_amount total_amount appointment_id campaign_code insurance_claim_no"
                    " updated_at"
                ),
                required=("updated_at", "vin", "open_date", "status"),
                timestamps=("updated_at",),
                dates=("open_date", "close_date"),
                integers=("mileage_km",),
                amounts=("labor_amount", "parts_amount", "total_amount"),
                codes={"service_type": SERVICE_TYPES, "status": _codes("open", "closed", "void")},
            ),
        ),
        RawEntity(
            "dms",
            "appointments",
            RecordSpec(
                ("appointment_id",),
                _fields(
                    "appointment_id dealer_code customer_id vin appointment_date slot source status"
                    " created_at updated_at"
                ),
                required=("updated_at",),
                timestamps=("created_at", "updated_at"),
                dates=("appointment_date",),
                codes={
                    "source": _codes("phone", "wechat", "walk_in", "call_center"),
                    "status": _codes("booked", "arrived", "cancelled", "no_show"),
                },
            ),
        ),
        RawEntity(
            "dms",
            "memberships",
            RecordSpec(
                ("card_no",),
                _fields("card_no customer_id dealer_code tier points_balance points_expire_date updated_at"),
                required=("updated_at",),
                timestamps=("updated_at",),
                dates=("points_expire_date",),
                integers=("points_balance",),
                codes={"tier": _codes("normal", "silver", "gold", "diamond")},
            ),
        ),
        RawEntity(
            "dms",
            "recommendations",
            RecordSpec(
                ("recommendation_id",),
                _fields(
                    "recommendation_id ro_number dealer_code vin customer_id advisor_id op_code description"
                    " est_amount status defer_until done_ro_number created_at updated_at"
                ),
                required=("updated_at", "ro_number", "vin", "status"),
                timestamps=("created_at", "updated_at"),
                dates=("defer_until",),
                amounts=("est_amount",),
                codes={"status": RECOMMENDATION_STATUSES},
            ),
        ),
        RawEntity(
            "dms",
            "complaints",
            RecordSpec(
                ("complaint_id",),
                _fields(
                    "complaint_id dealer_code customer_id vin ro_number source category severity opened_at"
                    " first_response_at closed_at status updated_at"
                ),
                required=("updated_at", "customer_id", "opened_at", "status"),
                timestamps=("opened_at", "first_response_at", "closed_at", "updated_at"),
                codes={
                    "source": _codes("walk_in", "phone", "call_center", "oem_hotline", "online"),
                    "category": COMPLAINT_CATEGORIES,
                    "severity": _codes("normal", "escalated", "major"),
                    "status": _codes("open", "responded", "closed"),
                },
            ),
        ),
    )
}

#: Listed once for the whole group (``dealer_code`` is ignored or may be null).
DMS_GROUP_WIDE: tuple[str, ...] = ("dealers", "campaigns")
#: Listed per dealer (one mapped Airflow task per dealer).
DMS_PER_DEALER: tuple[str, ...] = (
    "advisors",
    "customers",
    "vehicles",
    "repair_orders",
    "appointments",
    "memberships",
    "recommendations",
    "complaints",
)

#: Insurer files (feeds.md §2), keyed by the file kind in the name; fields in the files' Chinese.
INSURER: dict[str, RawEntity] = {
    "POLICY": RawEntity(
        "insurer",
        "policies",
        RecordSpec(
            ("保单号",),
            (
                "保单号",
                "车架号",
                "车牌号",
                "被保险人",
                "联系电话",
                "险种",
                "起保日期",
                "终保日期",
                "保费",
                "签单日期",
                "出单机构",
            ),
            required=("车架号", "起保日期", "终保日期", "签单日期"),
            dates=("起保日期", "终保日期", "签单日期"),
            amounts=("保费",),
            codes={"险种": _codes("交强险", "商业险")},
        ),
    ),
    "CLAIM": RawEntity(
        "insurer",
        "claims",
        RecordSpec(
            ("报案号",),
            ("报案号", "保单号", "车架号", "出险日期", "报案日期", "定损金额", "维修单位代码", "案件状态"),
            required=("保单号", "出险日期"),
            dates=("出险日期", "报案日期"),
            amounts=("定损金额",),
            codes={"案件状态": _codes("已报案", "已定损", "已结案")},
        ),
    ),
}

#: The manufacturer's lost-customer lists (feeds.md §3).
OEM_LOST_CUSTOMERS = RawEntity(
    "oem",
    "lost_customers",
    RecordSpec(
        ("vin",),
        _fields("vin customer_name mobile_masked last_service_dealer_code last_service_date oem_status reason_hint"),
        dates=("last_service_date",),
        codes={"oem_status": _codes("LOST", "AT_RISK"), "reason_hint": _codes("SERVICED_AT_OTHER_DEALER")},
    ),
)

#: The manufacturer's recalls (feeds.md §3): one item per recall and VIN, incremental on ``updated_at``.
OEM_RECALLS = RawEntity(
    "oem",
    "recalls",
    RecordSpec(
        ("recall_code", "vin"),
        _fields(
            "recall_code recall_name vin published_date remedy_available completed_date completed_dealer_code"
            " updated_at"
        ),
        required=("updated_at", "published_date", "remedy_available"),
        timestamps=("updated_at",),
        dates=("published_date", "completed_date"),
    ),
)

#: The outcome files' columns version 2 added (feeds.md §4): a file with or without them is valid.
CALLCENTER_V2_COLUMNS: tuple[str, ...] = ("csi_score", "complaint_category", "loss_reason")

#: What the call center did with the lists (feeds.md §4).
CALLCENTER_OUTCOMES = RawEntity(
    "callcenter",
    "outcomes",
    RecordSpec(
        ("call_id",),
        (
            *_fields(
                "call_id list_date dealer_code customer_id attempt_no called_at channel outcome callback_date"
                " appointment_date note"
            ),
            *CALLCENTER_V2_COLUMNS,
        ),
        optional=CALLCENTER_V2_COLUMNS,
        required=("list_date", "dealer_code", "customer_id", "attempt_no", "called_at", "channel", "outcome"),
        timestamps=("called_at",),
        dates=("list_date", "callback_date", "appointment_date"),
        integers=("attempt_no", "csi_score"),
        codes={
            "channel": _codes("PHONE", "SMS"),
            "outcome": OUTCOMES,
            "attempt_no": _codes("1", "2", "3"),
            "csi_score": _codes("1", "2", "3", "4", "5"),
            "complaint_category": COMPLAINT_CATEGORIES,
            "loss_reason": LOSS_REASONS,
        },
    ),
)

ALL: tuple[RawEntity, ...] = (
    *DMS.values(),
    *INSURER.values(),
    OEM_LOST_CUSTOMERS,
    OEM_RECALLS,
    CALLCENTER_OUTCOMES,
)
