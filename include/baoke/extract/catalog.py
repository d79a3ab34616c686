"""Every raw table the feeds land in, with the checks its records must pass (docs/feeds.md).

This is the one place a feed's shape is written down on our side: the extractors look
up their entity here, the loader creates the raw tables from it, and the DAGs publish
one Airflow Asset per entry.
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
    columns: tuple[str, ...] = ()  # file feeds: the header, in order

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
)

#: The DMS entities (feeds.md §1), primary key first, in the order they are extracted.
DMS: dict[str, RawEntity] = {
    e.name: e
    for e in (
        RawEntity(
            "dms",
            "dealers",
            RecordSpec(("dealer_code",), timestamps=("updated_at",), dates=("opened_date",), required=("updated_at",)),
        ),
        RawEntity(
            "dms",
            "campaigns",
            RecordSpec(
                ("campaign_code",),
                required=("updated_at",),
                timestamps=("updated_at",),
                dates=("start_date", "end_date"),
                amounts=("cost_amount",),
                codes={"type": _codes("SERVICE_PROMO", "RECALL", "CARE_EVENT")},
            ),
        ),
        RawEntity("dms", "advisors", RecordSpec(("advisor_id",), required=("updated_at",), timestamps=("updated_at",))),
        RawEntity(
            "dms",
            "customers",
            RecordSpec(
                ("customer_id",),
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
                required=("updated_at",),
                timestamps=("updated_at",),
                dates=("points_expire_date",),
                integers=("points_balance",),
                codes={"tier": _codes("normal", "silver", "gold", "diamond")},
            ),
        ),
    )
}

#: Listed once for the whole group (``dealer_code`` is ignored or may be null).
DMS_GROUP_WIDE: tuple[str, ...] = ("dealers", "campaigns")
#: Listed per dealer (one mapped Airflow task per dealer).
DMS_PER_DEALER: tuple[str, ...] = ("advisors", "customers", "vehicles", "repair_orders", "appointments", "memberships")

#: Insurer files (feeds.md §2), keyed by the file kind in the name; fields in the files' Chinese.
INSURER: dict[str, RawEntity] = {
    "POLICY": RawEntity(
        "insurer",
        "policies",
        RecordSpec(
            ("保单号",),
            required=("车架号", "起保日期", "终保日期", "签单日期"),
            dates=("起保日期", "终保日期", "签单日期"),
            amounts=("保费",),
            codes={"险种": _codes("交强险", "商业险")},
        ),
        columns=(
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
    ),
    "CLAIM": RawEntity(
        "insurer",
        "claims",
        RecordSpec(
            ("报案号",),
            required=("保单号", "出险日期"),
            dates=("出险日期", "报案日期"),
            amounts=("定损金额",),
            codes={"案件状态": _codes("已报案", "已定损", "已结案")},
        ),
        columns=("报案号", "保单号", "车架号", "出险日期", "报案日期", "定损金额", "维修单位代码", "案件状态"),
    ),
}

#: The manufacturer's lost-customer lists (feeds.md §3).
OEM_LOST_CUSTOMERS = RawEntity(
    "oem",
    "lost_customers",
    RecordSpec(
        ("vin",),
        dates=("last_service_date",),
        codes={"oem_status": _codes("LOST", "AT_RISK"), "reason_hint": _codes("SERVICED_AT_OTHER_DEALER")},
    ),
)

#: What the call center did with the lists (feeds.md §4).
CALLCENTER_OUTCOMES = RawEntity(
    "callcenter",
    "outcomes",
    RecordSpec(
        ("call_id",),
        required=("list_date", "dealer_code", "customer_id", "attempt_no", "called_at", "channel", "outcome"),
        timestamps=("called_at",),
        dates=("list_date", "callback_date", "appointment_date"),
        integers=("attempt_no",),
        codes={"channel": _codes("PHONE", "SMS"), "outcome": OUTCOMES, "attempt_no": _codes("1", "2", "3")},
    ),
    columns=(
        "call_id",
        "list_date",
        "dealer_code",
        "customer_id",
        "attempt_no",
        "called_at",
        "channel",
        "outcome",
        "callback_date",
        "appointment_date",
        "note",
    ),
)

ALL: tuple[RawEntity, ...] = (*DMS.values(), *INSURER.values(), OEM_LOST_CUSTOMERS, CALLCENTER_OUTCOMES)
