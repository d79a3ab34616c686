"""The synthetic dealer group: customers, vehicles and six years of after-sales life.

Deterministic for a seed: every chunk of customers draws from its own generator
(seed, dealer, chunk), so the same seed gives the same world whatever the machine.
Everything is vectorised over a chunk (numpy/pandas); the only Python loops run over
dealers, chunks, visit numbers and months, never over rows. Chunks are written to the
store as they are made, so memory stays bounded at every scale.

Behaviour modelled (the dealership documents, docs/README.md): services follow each
driver's own mileage and the 6-month / 5,000 km interval; loyalty is high under the
3-year warranty and decays after it, customers drifting to other dealers of the brand
(which the manufacturer sees) or to independent shops; accidents bring BODY_PAINT orders
with insurance claims; orders are opened, then closed (or voided) days later;
appointments are booked, then kept, cancelled or missed; duplicate customer records are
merged; vehicles are sold on; some visits, above all a repair that did not hold, end in a
complaint the dealer registers, answers and closes (mostly in time).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from baoke_sim import store
from baoke_sim.identity import NamePools, make_mobiles, make_vins, mask_mobile, type_mobiles
from baoke_sim.insurance import INSURERS, claim_rows, policy_rows, towed_elsewhere_rows

#: A missing value (None) in a column built with np.where, as numpy makes it from None
#: and as its type stubs accept it.
NULL = np.array(None, dtype=object)


@dataclass(frozen=True)
class Scale:
    dealers: int
    customers: int  # in the whole group


SCALES: dict[str, Scale] = {
    "small": Scale(dealers=1, customers=2_000),
    "medium": Scale(dealers=5, customers=50_000),
    "large": Scale(dealers=20, customers=1_000_000),
}
CHUNK = 25_000  # customers generated and written at a time
BRAND = "HUAXIA"
MODELS = np.array(["H3", "H5", "H6", "HX50", "HX70"])
MODEL_SHARES = np.array([0.25, 0.3, 0.15, 0.2, 0.1])
# (city, province, plate prefix, district) of the group's dealers.
DEALER_CITIES = [
    ("苏州市", "江苏省", "苏E", "姑苏区"),
    ("无锡市", "江苏省", "苏B", "梁溪区"),
    ("常州市", "江苏省", "苏D", "天宁区"),
    ("南通市", "江苏省", "苏F", "崇川区"),
    ("嘉兴市", "浙江省", "浙F", "南湖区"),
    ("湖州市", "浙江省", "浙E", "吴兴区"),
    ("绍兴市", "浙江省", "浙D", "越城区"),
    ("宁波市", "浙江省", "浙B", "海曙区"),
    ("合肥市", "安徽省", "皖A", "蜀山区"),
    ("芜湖市", "安徽省", "皖B", "镜湖区"),
]
OTHER_CITIES = np.array(["上海市", "南京市", "杭州市", "扬州市", "盐城市", "徐州市", "温州市", "台州市"])
OUTSIDE_DEALERS = np.array([f"X{i:03d}" for i in range(1, 41)])  # brand dealers outside the group
# Staffing (the dealership documents): a service advisor (服务顾问) per 8-10 visits a day,
# sales consultants (销售顾问) who sold the cars, one or two 回访员 and 续保专员 per dealer.
VISITS_PER_CUSTOMER_DAY = 1.97 / 365  # a dealer's visits per customer and day late in the timeline
VISITS_PER_ADVISOR = 9  # a day's visits per service advisor
SALES_PER_CUSTOMER_MONTH = 1.2 * 0.9 / 72  # cars sold per customer and month (vehicles, sold here, 6 years)
SALES_PER_CONSULTANT = 10  # cars a sales consultant sells a month
ROLE_PREFIX = {"service_advisor": "A", "sales_consultant": "S", "followup_agent": "F", "renewal_specialist": "R"}
# Share of each role's posts whose holder leaves (a successor joins the same day).
TURNOVER = {"service_advisor": 0.25, "sales_consultant": 0.4, "followup_agent": 0.5, "renewal_specialist": 0.5}
# In a group of several dealers, some have nobody in a role (the platform's fallback):
# dealers with index % 5 == NO_RENEWAL_SPECIALIST have no 续保专员, == NO_FOLLOWUP_AGENT no 回访员.
NO_RENEWAL_SPECIALIST, NO_FOLLOWUP_AGENT = 2, 4
EXTRA_VISITS_PER_YEAR = {"REPAIR": 0.35, "BODY_PAINT": 0.12, "WARRANTY": 0.2, "ACCESSORY": 0.15, "INSPECTION": 0.1}
OEM_PERIODS = 12  # the manufacturer's lists of the last N months are kept
#: The manufacturer's recalls: (code, name, models, published at this share of the
#: timeline, days until the remedy (parts) is available, years of deliveries affected).
RECALLS = (
    ("GRP-RECALL-01", "转向拉杆召回", ("H5", "H6"), 0.6, 0, 2.0),
    ("GRP-RECALL-02", "安全气囊气体发生器召回", ("HX50",), 0.85, 45, 3.0),
    ("GRP-RECALL-03", "燃油泵召回", ("H3", "HX70"), 0.97, 30, 1.5),
)
#: Work an advisor recommends and a customer may put off: (op_code, description, price median).
RECOMMENDED_WORK = (
    ("BRK-PAD-F", "更换前刹车片", 680.0),
    ("TIRE-4", "更换轮胎(四条)", 2400.0),
    ("BATT", "更换蓄电池", 850.0),
    ("AC-FILTER", "更换空调滤芯", 160.0),
    ("WIPER", "更换雨刮片", 120.0),
    ("BRK-FLUID", "更换刹车油", 380.0),
)
#: The visits on which an advisor recommends further work.
RECOMMENDING_VISITS = ("FIRST_SERVICE", "MAINTENANCE", "REPAIR", "INSPECTION")


def _days(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def fmt_dates(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.asarray(days, dtype="int64").astype("datetime64[D]"))


def fmt_stamps(seconds: np.ndarray) -> np.ndarray:
    """Local seconds since the epoch -> ISO-8601 with the +08:00 offset."""
    text = np.datetime_as_string(np.asarray(seconds, dtype="int64").astype("datetime64[s]"), unit="s")
    return np.char.add(text, "+08:00")


def _at(rng: np.random.Generator, days: np.ndarray, first_hour: float, last_hour: float) -> np.ndarray:
    """Timestamps (local seconds) on ``days`` at a random time between the two hours."""
    seconds = rng.integers(int(first_hour * 3600), int(last_hour * 3600), len(days))
    return np.asarray(days, dtype="int64") * 86_400 + seconds


def _money(values: np.ndarray) -> np.ndarray:
    return np.char.mod("%.2f", np.round(values, 2))


@dataclass
class Timeline:
    start: int  # first day (days since epoch)
    until: int  # last day generated

    @property
    def years(self) -> float:
        return (self.until - self.start) / 365.25


@dataclass
class Dealer:
    index: int
    code: str
    city: str
    province: str
    plate: str
    district: str


@dataclass(frozen=True)
class Roster:
    """One role's posts at a dealer: post i is held by ``first[i]`` until ``change[i]``
    (10**6: never), then by ``then[i]`` (the first leaves, the successor joins that day)."""

    first: np.ndarray
    then: np.ndarray
    change: np.ndarray

    @property
    def size(self) -> int:
        return len(self.first)

    def on(self, post: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Who held each ``post`` on each ``day``."""
        return np.where(day >= self.change[post], self.then[post], self.first[post])


def _dealers(count: int) -> list[Dealer]:
    return [Dealer(i, f"D{i + 1:03d}", *DEALER_CITIES[i % len(DEALER_CITIES)]) for i in range(count)]


class WorldGenerator:
    """Generates one world into a store; ``run()`` returns the count of versions per entity."""

    def __init__(self, conn: sqlite3.Connection, scale: Scale, seed: int, timeline: Timeline):
        self.conn, self.scale, self.seed, self.timeline = conn, scale, seed, timeline
        self.pools = NamePools(seed)
        self.dealers = _dealers(scale.dealers)
        self.counts: dict[str, int] = {}
        self.rosters: dict[str, Roster] = {}  # the current dealer's staff, per role
        self.next_line = 0  # line numbers of insurer file rows, across chunks

    def run(self) -> dict[str, int]:
        self._write("dealers", self._dealer_records(), "dealer_code")
        store.add_insurers(self.conn, INSURERS)
        self._write("campaigns", self._group_recall(), "campaign_code")
        per_dealer = np.full(len(self.dealers), self.scale.customers // len(self.dealers))
        per_dealer[: self.scale.customers % len(self.dealers)] += 1
        first_id = 0
        for dealer, n in zip(self.dealers, per_dealer, strict=False):
            rng = np.random.default_rng([self.seed, dealer.index, 10**6])
            advisors, self.rosters = self._staff(dealer, int(n))
            campaigns = self._campaigns(rng, dealer)
            self._write("advisors", advisors, "advisor_id")
            self._write("campaigns", campaigns.drop(columns=["start_day", "end_day"]), "campaign_code")
            oem_visits = []
            for chunk, start in enumerate(range(0, n, CHUNK)):
                size = min(CHUNK, n - start)
                chunk_rng = np.random.default_rng([self.seed, dealer.index, chunk])
                staff_rng = np.random.default_rng([self.seed, dealer.index, chunk, 11])
                oem_visits.append(self._chunk(chunk_rng, staff_rng, dealer, first_id + start, size, campaigns))
            first_id += n
            self._write_oem_lists(rng, dealer, pd.concat(oem_visits, ignore_index=True))
        self.conn.commit()
        return self.counts

    # -- writing ------------------------------------------------------------------

    def _write(
        self,
        entity: str,
        records: pd.DataFrame,
        pk: str | list[str],
        visible_at: pd.Series | None = None,
        rooftop: str | None = None,
    ) -> None:
        """Store versions; ``rooftop`` is the dealer whose DMS holds records whose own
        dealer_code may be null (a vehicle bought elsewhere, serviced here)."""
        dealer = None if rooftop is None else pd.Series(rooftop, index=records.index)
        self.counts[entity] = self.counts.get(entity, 0) + store.add_versions(
            self.conn, entity, records, pk, dealer, visible_at
        )

    @staticmethod
    def _late(rng: np.random.Generator, updated_seconds: np.ndarray, share: float = 0.01) -> pd.Series:
        """visible_at from the versions' updated_at (local seconds): a few writes land
        late, 1 to 30 hours after their updated_at."""
        n = len(updated_seconds)
        delay = np.where(rng.random(n) < share, rng.integers(3600, 30 * 3600, n), 0)
        return pd.Series(fmt_stamps(updated_seconds + delay))

    # -- reference data -----------------------------------------------------------

    def _dealer_records(self) -> pd.DataFrame:
        start = self.timeline.start - 3650
        return pd.DataFrame(
            {
                "dealer_code": [d.code for d in self.dealers],
                "name": [f"{d.city[:-1]}华夏汽车{d.district[:-1]}4S店" for d in self.dealers],
                "brand": BRAND,
                "city": [d.city for d in self.dealers],
                "province": [d.province for d in self.dealers],
                "opened_date": fmt_dates(np.array([start + 97 * d.index for d in self.dealers])),
                "updated_at": fmt_stamps(np.array([(start + 97 * d.index) * 86_400 + 9 * 3600 for d in self.dealers])),
            }
        )

    def _staff(self, dealer: Dealer, customers: int) -> tuple[pd.DataFrame, dict[str, Roster]]:
        """The dealer's staff (the DMS ``advisors``, each with its ``role``), sized from its
        customers: service advisors for the visits of a day late in the timeline, sales
        consultants for the cars sold a month, one or two 回访员 and 续保专员 (none in some
        dealers of a larger group). In every role some leave over the years, a successor
        joining the same day. Drawn from a generator of its own: staffing does not move
        any other draw of the world."""
        rng = np.random.default_rng([self.seed, dealer.index, 8])
        several = len(self.dealers) > 2
        posts = {
            "service_advisor": max(2, round(customers * VISITS_PER_CUSTOMER_DAY / VISITS_PER_ADVISOR)),
            "sales_consultant": max(2, round(customers * SALES_PER_CUSTOMER_MONTH / SALES_PER_CONSULTANT)),
            "followup_agent": 0 if several and dealer.index % 5 == NO_FOLLOWUP_AGENT else 1 + int(rng.random() < 0.5),
            "renewal_specialist": (
                0 if several and dealer.index % 5 == NO_RENEWAL_SPECIALIST else 1 + int(rng.random() < 0.5)
            ),
        }
        start, span = self.timeline.start, self.timeline.until - self.timeline.start
        frames, rosters = [], {}
        for role, n in posts.items():
            prefix = f"{dealer.code}-{ROLE_PREFIX[role]}"
            changed = rng.random(n) < TURNOVER[role]
            if n and not changed.any():
                changed[rng.integers(0, n)] = True  # someone of every role leaves
            change = np.where(changed, start + (span * rng.uniform(0.15, 0.95, n)).astype(int), 10**6)
            first = np.array([f"{prefix}{i:02d}" for i in range(1, n + 1)], dtype=object)
            then = first.copy()
            then[changed] = [f"{prefix}{i:02d}" for i in range(n + 1, n + 1 + int(changed.sum()))]
            rosters[role] = Roster(first, then, change)
            ids = np.concatenate([first, then[changed]])
            hired = np.concatenate([np.full(n, start - 30), change[changed]])  # on duty before the first PDI
            gender = rng.choice(np.array(["M", "F"]), len(ids))
            people = pd.DataFrame(
                {
                    "advisor_id": ids,
                    "dealer_code": dealer.code,
                    "name": self.pools.names(rng, gender),
                    "active": True,
                    "role": role,
                    "updated_at": fmt_stamps(hired * 86_400 + 9 * 3600),
                }
            )
            left = people.iloc[np.flatnonzero(changed)].assign(
                active=False, updated_at=fmt_stamps(change[changed] * 86_400 + 18 * 3600)
            )
            frames += [people, left]
        return pd.concat(frames, ignore_index=True), rosters

    def _campaigns(self, rng: np.random.Generator, dealer: Dealer) -> pd.DataFrame:
        """Three service campaigns a year per dealer, three weeks each."""
        years = int(np.ceil(self.timeline.years))
        n = 3 * years
        start = self.timeline.start + np.sort(rng.integers(0, self.timeline.until - self.timeline.start - 21, n))
        end = start + 20
        kind = rng.choice(["SERVICE_PROMO", "CARE_EVENT"], n, p=[0.7, 0.3])
        names = np.where(kind == "SERVICE_PROMO", "保养特惠月", "夏季空调免费检测")
        return pd.DataFrame(
            {
                "campaign_code": [f"{dealer.code}-CP{i + 1:03d}" for i in range(n)],
                "dealer_code": dealer.code,
                "name": names,
                "type": kind,
                "start_date": fmt_dates(start),
                "end_date": fmt_dates(end),
                "cost_amount": _money(rng.integers(5, 31, n) * 1000.0),
                "updated_at": fmt_stamps(_at(rng, start - 14, 9, 18)),
                "start_day": start,
                "end_day": end,
            }
        )

    def _recall_days(self) -> np.ndarray:
        """The day each of RECALLS is published."""
        span = self.timeline.until - self.timeline.start
        return np.array([self.timeline.start + int(span * share) for _, _, _, share, _, _ in RECALLS])

    def _group_recall(self) -> pd.DataFrame:
        """Each recall is also a group-wide DMS campaign: a repair order doing the remedy
        carries its code."""
        day = self._recall_days()
        return pd.DataFrame(
            {
                "campaign_code": [code for code, *_ in RECALLS],
                "dealer_code": None,
                "name": [name for _, name, *_ in RECALLS],
                "type": "RECALL",
                "start_date": fmt_dates(day),
                "end_date": fmt_dates(day + 365),
                "cost_amount": "0.00",
                "updated_at": fmt_stamps(day * 86_400 + 10 * 3600),
            }
        )

    # -- one chunk of customers -----------------------------------------------------

    def _chunk(
        self,
        rng: np.random.Generator,
        staff_rng: np.random.Generator,
        dealer: Dealer,
        first_id: int,
        n: int,
        campaigns: pd.DataFrame,
    ) -> pd.DataFrame:
        customers = self._customers(rng, dealer, first_id, n)
        vehicles = self._vehicles(rng, dealer, customers)
        # Who serves them, from a generator of their own (staffing moves no other draw):
        # each customer's service advisor post, each car's sales consultant post.
        customers["advisor_post"] = staff_rng.integers(0, self.rosters["service_advisor"].size, n)
        sales = self.rosters["sales_consultant"]
        vehicles["sales_consultant_id"] = np.where(
            vehicles["dealer_code"].notna().to_numpy(),
            sales.on(staff_rng.integers(0, sales.size, len(vehicles)), vehicles["delivery"].to_numpy()),
            NULL,
        )
        new_owners = self._new_owners(rng, dealer, vehicles)
        visits = self._service_history(rng, dealer, vehicles, campaigns)
        orders = self._repair_orders(rng, dealer, customers, vehicles, visits[visits.dealer == dealer.code], campaigns)
        # recalls and recommendations draw from a generator of their own, so the rest
        # of the world is what it was before they were modelled
        side = rng.spawn(1)[0]
        recalls = self._recalls(side, dealer, vehicles, visits, orders)
        appointments, appointment_seconds = self._appointments(rng, dealer, orders)
        memberships, tiers = self._memberships(rng, dealer, customers, orders)
        customers["member_tier"] = customers["customer_id"].map(tiers)

        everyone = pd.concat([customers, new_owners], ignore_index=True)
        self._write("customers", self._customer_versions(rng, everyone), "customer_id")
        self._write("vehicles", self._vehicle_versions(rng, vehicles), "vin", rooftop=dealer.code)
        ro_versions, ro_seconds = self._order_versions(rng, orders)
        self._write("repair_orders", ro_versions, "ro_number", self._late(rng, ro_seconds))
        self._write("appointments", appointments, "appointment_id", self._late(rng, appointment_seconds))
        self._write("memberships", memberships, "card_no")
        self._write("recommendations", self._recommendations(side, orders), "recommendation_id")
        self._write("oem_recalls", recalls, ["recall_code", "vin"], rooftop=dealer.code)
        # Its own generator: complaints leave every other record of the world as it was.
        complaint_rng = np.random.default_rng([self.seed, dealer.index, first_id, 11])
        self._write("complaints", self._complaints(complaint_rng, orders), "complaint_id")
        self._write_insurance(rng, dealer, vehicles, everyone, orders)
        return self._oem_basis(dealer, vehicles, customers, visits)

    def _customers(self, rng: np.random.Generator, dealer: Dealer, first_id: int, n: int) -> pd.DataFrame:
        gender = rng.choice(np.array(["M", "F"]), n, p=[0.68, 0.32])
        local = rng.random(n) < 0.8
        city = np.where(local, dealer.city, OTHER_CITIES[rng.integers(0, len(OTHER_CITIES), n)])
        district = np.where(local, dealer.district, "")
        mobile = make_mobiles(rng, n)
        first_delivery = self.timeline.start + rng.integers(0, self.timeline.until - self.timeline.start - 10, n)
        birth = first_delivery - rng.integers(22 * 365, 62 * 365, n)
        return pd.DataFrame(
            {
                "customer_id": np.char.add(
                    "C", np.char.zfill(np.arange(first_id + 1, first_id + n + 1).astype(str), 8)
                ),
                "dealer_code": dealer.code,
                "name": self.pools.names(rng, gender),
                "gender": np.where(rng.random(n) < 0.05, NULL, gender),
                "birth_date": np.where(rng.random(n) < 0.15, NULL, fmt_dates(birth)),
                "clean_mobile": mobile,
                "mobile": type_mobiles(rng, mobile),
                "city": city,
                "address": self.pools.addresses(rng, city, district),
                "consent_call": rng.random(n) > 0.04,
                "consent_sms": rng.random(n) > 0.03,
                "first_delivery": first_delivery,
                "created_day": first_delivery - rng.integers(0, 20, n),
            }
        ).pipe(self._with_duplicates, rng)

    def _with_duplicates(self, customers: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        """2% are registered a second time at the counter (dup_day) and merged in the DMS
        later (merge_day); meanwhile some of their orders go on the duplicate record."""
        n = len(customers)
        dup_day = customers["created_day"].to_numpy() + rng.integers(30, 900, n)
        merge_day = dup_day + rng.integers(5, 200, n)
        duplicated = (rng.random(n) < 0.02) & (merge_day <= self.timeline.until)
        return customers.assign(
            dup_day=np.where(duplicated, dup_day, 10**6), merge_day=np.where(duplicated, merge_day, 10**6)
        )

    def _vehicles(self, rng: np.random.Generator, dealer: Dealer, customers: pd.DataFrame) -> pd.DataFrame:
        """Each customer's first vehicle; a fifth buy a second one later."""
        first_delivery = customers["first_delivery"].to_numpy()
        later = rng.integers(200, 1500, len(customers))
        # a second car only if it is bought within the timeline (no pile-up on its last day)
        second = (rng.random(len(customers)) < 0.2) & (first_delivery + later <= self.timeline.until)
        owner = np.concatenate([np.arange(len(customers)), np.flatnonzero(second)])
        delivery = np.concatenate([first_delivery, (first_delivery + later)[second]])
        year = delivery.astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970
        model_year = year + (delivery - _days_of_year_start(year) > 270)
        n = len(owner)
        vins = make_vins(rng, model_year)
        sold_here = rng.random(n) < 0.9
        # Life events: resold to a new owner (who keeps servicing here), sold away, scrapped.
        age_at_end = self.timeline.until - delivery
        event = np.where(
            rng.random(n) < 0.04,
            "resold",
            np.where(rng.random(n) < 0.02, "sold", np.where(rng.random(n) < 0.01, "scrapped", "")),
        )
        event = np.where(age_at_end > 3 * 365, event, "")
        event_day = delivery + (age_at_end * rng.uniform(0.55, 0.95, n)).astype(int)
        return pd.DataFrame(
            {
                "vin": vins,
                "owner": owner,
                "customer_id": customers["customer_id"].to_numpy()[owner],
                "dealer_code": np.where(sold_here, dealer.code, NULL),
                "brand": BRAND,
                "model": rng.choice(MODELS, n, p=MODEL_SHARES),
                "model_year": model_year,
                "plate_no": _plates(rng, dealer.plate, n),
                "delivery": delivery,
                "daily_km": np.clip(rng.lognormal(np.log(38), 0.45, n), 5, 220),
                "event": event,
                "event_day": np.where(event == "", 10**6, event_day),
            }
        )

    def _new_owners(self, rng: np.random.Generator, dealer: Dealer, vehicles: pd.DataFrame) -> pd.DataFrame:
        """The buyers of resold vehicles: new customers, created when they bought the car."""
        resold = vehicles[(vehicles.event == "resold") & (vehicles.event_day <= self.timeline.until)]
        owners = self._customers(rng, dealer, 0, len(resold))
        day = resold["event_day"].to_numpy()
        return owners.assign(customer_id=_new_owner_id(resold["vin"].to_numpy()), created_day=day, first_delivery=day)

    def _service_history(
        self, rng: np.random.Generator, dealer: Dealer, vehicles: pd.DataFrame, campaigns: pd.DataFrame
    ) -> pd.DataFrame:
        """Every brand service visit of every vehicle: (veh, day, service_type, dealer).

        Visits follow the driver's own mileage and the 6-month / 5,000 km interval.
        After each visit the customer stays with the group with a probability that is
        high under warranty and decays after it; leavers go to another dealer of the
        brand (the manufacturer still sees them) or to an independent shop (gone)."""
        n = len(vehicles)
        delivery = vehicles["delivery"].to_numpy()
        warranty_end = delivery + 3 * 365
        km_days = 5000 / vehicles["daily_km"].to_numpy()
        stop = np.minimum(vehicles["event_day"].to_numpy(), self.timeline.until)
        home = np.full(n, dealer.code)  # where the group services them: the customer's dealer
        outside = OUTSIDE_DEALERS[rng.integers(0, len(OUTSIDE_DEALERS), n)]
        where = np.where(rng.random(n) < 0.9, 0, np.where(rng.random(n) < 0.4, 1, 2))  # 0 group, 1 other dealer, 2 gone
        day = delivery + np.ceil(np.minimum(90, km_days) * rng.uniform(0.7, 1.15, n)).astype(int)
        parts = []
        left_group = np.full(n, 10**6)
        left_group[where != 0] = delivery[where != 0]
        for k in range(60):
            live = (day <= stop) & (where != 2)
            if not live.any():
                break
            idx = np.flatnonzero(live)
            parts.append(
                pd.DataFrame(
                    {
                        "veh": idx,
                        "day": day[idx],
                        "service_type": "FIRST_SERVICE" if k == 0 else "MAINTENANCE",
                        "dealer": np.where(where[idx] == 0, home[idx], outside[idx]),
                    }
                )
            )
            day = day + np.ceil(np.minimum(182, km_days) * rng.uniform(0.8, 1.35, n)).astype(int)
            years_past = np.clip((day - warranty_end) / 365, 0, None)
            stay = np.where(day <= warranty_end, 0.95, 0.80 - 0.06 * years_past)
            leave = (where == 0) & (rng.random(n) > stay)
            left_group = np.where(leave & (left_group == 10**6), day, left_group)
            where = np.where(leave, np.where(rng.random(n) < 0.35, 1, 2), where)
            where = np.where((where == 1) & (rng.random(n) > 0.9), 2, where)
        loyal_end = np.minimum(left_group, stop)
        for service_type, per_year in EXTRA_VISITS_PER_YEAR.items():
            end = np.minimum(loyal_end, warranty_end) if service_type == "WARRANTY" else loyal_end
            span = np.clip(end - delivery, 0, None)
            count = rng.poisson(per_year * span / 365.25)
            idx = np.repeat(np.arange(n), count)
            parts.append(
                pd.DataFrame(
                    {
                        "veh": idx,
                        "day": delivery[idx] + (span[idx] * rng.random(len(idx))).astype(int),
                        "service_type": service_type,
                        "dealer": home[idx],
                    }
                )
            )
        sold_here = np.flatnonzero(vehicles["dealer_code"].notna().to_numpy())
        parts.append(
            pd.DataFrame(
                {
                    "veh": sold_here,
                    "day": delivery[sold_here] - rng.integers(1, 4, len(sold_here)),
                    "service_type": "PDI",
                    "dealer": home[sold_here],
                }
            )
        )
        for row in campaigns[campaigns.type == "CARE_EVENT"].itertuples():
            come = np.flatnonzero((delivery < row.start_day) & (loyal_end > row.end_day) & (rng.random(n) < 0.1))
            parts.append(
                pd.DataFrame(
                    {
                        "veh": come,
                        "day": rng.integers(row.start_day, row.end_day + 1, len(come)),
                        "service_type": "CAMPAIGN",
                        "dealer": home[come],
                    }
                )
            )
        visits = pd.concat(parts, ignore_index=True)
        visits = visits[visits.day <= self.timeline.until]
        return visits.sort_values(["veh", "day", "service_type"], kind="stable").reset_index(drop=True)

    # -- DMS records from the visits --------------------------------------------------

    def _repair_orders(
        self,
        rng: np.random.Generator,
        dealer: Dealer,
        customers: pd.DataFrame,
        vehicles: pd.DataFrame,
        visits: pd.DataFrame,
        campaigns: pd.DataFrame,
    ) -> pd.DataFrame:
        """One repair order per group visit, with its owner, advisor, amounts and links."""
        n = len(visits)
        veh = visits["veh"].to_numpy()
        day = visits["day"].to_numpy()
        kind = visits["service_type"].to_numpy()
        v = vehicles.iloc[veh]
        owner = v["owner"].to_numpy()
        # Customer on the order: the buyer, or (after a resale) the new owner.
        resold = (v["event"].to_numpy() == "resold") & (day >= v["event_day"].to_numpy())
        customer = np.where(resold, _new_owner_id(v["vin"].to_numpy()), customers["customer_id"].to_numpy()[owner])
        on_duplicate = (
            (day >= customers["dup_day"].to_numpy()[owner])
            & (day < customers["merge_day"].to_numpy()[owner])
            & ~resold
            & (rng.random(n) < 0.6)
        )
        customer = np.where(on_duplicate, _duplicate_id(customer), customer)
        advisor = self.rosters["service_advisor"].on(customers["advisor_post"].to_numpy()[owner], day)
        mileage = np.where(
            kind == "PDI",
            rng.integers(5, 40, n),
            ((day - v["delivery"].to_numpy()) * v["daily_km"].to_numpy() * rng.uniform(0.9, 1.1, n)).astype(int),
        )
        duration = np.select(
            [kind == "BODY_PAINT", np.isin(kind, ["REPAIR", "WARRANTY"])],
            [rng.integers(2, 11, n), rng.integers(0, 4, n)],
            np.where(rng.random(n) < 0.9, 0, 1),
        )
        labor, parts = _amounts(rng, kind)
        campaign = _campaign_redeemed(rng, day, kind, campaigns)
        status = np.where(rng.random(n) < 0.012, "void", "closed")
        appointment = (np.isin(kind, ["FIRST_SERVICE", "MAINTENANCE"]) & (rng.random(n) < 0.35)) | (
            (kind == "REPAIR") & (rng.random(n) < 0.15)
        )
        chunk_tag = customers["customer_id"].iloc[0][1:]  # order numbers unique across chunks
        numbers = np.char.add(np.char.add(f"RO{dealer.code}-", chunk_tag), np.char.zfill(np.arange(n).astype(str), 6))
        return pd.DataFrame(
            {
                "ro_number": numbers,
                "dealer_code": dealer.code,
                "vin": v["vin"].to_numpy(),
                "customer_id": customer,
                "advisor_id": advisor,
                "open_day": day,
                "close_day": day + duration,
                "mileage_km": mileage,
                "service_type": kind,
                "final_status": status,
                "labor_amount": _money(labor),
                "parts_amount": _money(parts),
                "total_amount": _money(labor + parts),
                "total": labor + parts,
                "appointment_id": np.where(appointment, np.char.replace(numbers, "RO", "AP"), NULL),
                "campaign_code": campaign,
                "insurance_claim_no": np.where(
                    (kind == "BODY_PAINT") & (rng.random(n) < 0.85), np.char.replace(numbers, "RO", "CLM"), NULL
                ),
            }
        )

    def _order_versions(self, rng: np.random.Generator, orders: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Each order as opened (status open, no close date), then as closed or voided;
        with each version's updated_at in local seconds."""
        columns = [
            "ro_number",
            "dealer_code",
            "vin",
            "customer_id",
            "advisor_id",
            "open_date",
            "close_date",
            "mileage_km",
            "service_type",
            "status",
            "labor_amount",
            "parts_amount",
            "total_amount",
            "appointment_id",
            "campaign_code",
            "insurance_claim_no",
            "updated_at",
        ]
        opened_at = _at(rng, orders["open_day"].to_numpy(), 8.5, 11.5)
        closed_at = np.maximum(_at(rng, orders["close_day"].to_numpy(), 14, 19), opened_at + 1800)
        base = orders.assign(open_date=fmt_dates(orders["open_day"].to_numpy()))
        opened = base.assign(close_date=None, status="open", updated_at=fmt_stamps(opened_at))
        closed = base.assign(
            close_date=np.where(orders["final_status"] == "void", NULL, fmt_dates(orders["close_day"].to_numpy())),
            status=orders["final_status"],
            updated_at=fmt_stamps(closed_at),
        )
        return pd.concat([opened[columns], closed[columns]], ignore_index=True), np.concatenate([opened_at, closed_at])

    def _appointments(
        self, rng: np.random.Generator, dealer: Dealer, orders: pd.DataFrame
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Kept appointments (linked to their orders), plus cancelled and missed ones;
        with each version's updated_at in local seconds."""
        kept = orders[orders["appointment_id"].notna()]
        k = len(kept)
        missed = kept.sample(frac=0.16, random_state=rng.integers(2**31)) if k else kept
        ids = np.concatenate(
            [kept["appointment_id"].to_numpy(), np.char.add(missed["appointment_id"].to_numpy().astype(str), "X")]
        )
        day = np.concatenate(
            [kept["open_day"].to_numpy(), missed["open_day"].to_numpy() - rng.integers(10, 40, len(missed))]
        )
        final = np.concatenate([np.full(k, "arrived"), rng.choice(["cancelled", "no_show"], len(missed))])
        n = len(ids)
        created = _at(rng, day - rng.integers(1, 8, n), 9, 21)
        final_at = np.select(
            [final == "arrived", final == "no_show"],
            [_at(rng, day, 8, 8.4), _at(rng, day, 18, 19)],
            np.maximum(_at(rng, day - rng.integers(0, 2, n), 9, 20), created + 600),
        )
        frame = pd.DataFrame(
            {
                "appointment_id": ids,
                "dealer_code": dealer.code,
                "customer_id": np.concatenate([kept["customer_id"].to_numpy(), missed["customer_id"].to_numpy()]),
                "vin": np.concatenate([kept["vin"].to_numpy(), missed["vin"].to_numpy()]),
                "appointment_date": fmt_dates(day),
                "slot": np.array(["08:30", "09:00", "09:30", "10:00", "10:30", "13:30", "14:00", "15:00"])[
                    rng.integers(0, 8, n)
                ],
                "source": rng.choice(["phone", "wechat", "walk_in", "call_center"], n, p=[0.45, 0.35, 0.1, 0.1]),
                "created_at": fmt_stamps(created),
            }
        )
        columns = [
            "appointment_id",
            "dealer_code",
            "customer_id",
            "vin",
            "appointment_date",
            "slot",
            "source",
            "status",
            "created_at",
            "updated_at",
        ]
        booked = frame.assign(status="booked", updated_at=fmt_stamps(created))
        done = frame.assign(status=final, updated_at=fmt_stamps(final_at))
        return pd.concat([booked[columns], done[columns]], ignore_index=True), np.concatenate([created, final_at])

    def _memberships(
        self, rng: np.random.Generator, dealer: Dealer, customers: pd.DataFrame, orders: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.Series]:
        """Cards for two customers in five: joined at the first visit, points from spending."""
        closed = orders[(orders.final_status == "closed") & (orders.service_type != "PDI")]
        spend = closed.groupby("customer_id").agg(
            first=("open_day", "min"), last=("close_day", "max"), total=("total", "sum")
        )
        members = spend[rng.random(len(spend)) < 0.4]
        tier = pd.cut(
            members["total"], [-1, 3000, 10000, 25000, np.inf], labels=["normal", "silver", "gold", "diamond"]
        ).astype(str)
        points = (members["total"] // 10).astype(int) - rng.integers(0, 200, len(members))
        points = np.clip(points, 0, None)
        last_year = members["last"].to_numpy().astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970
        card = pd.DataFrame(
            {
                "card_no": np.char.replace(members.index.to_numpy().astype(str), "C", "M"),
                "customer_id": members.index.to_numpy(),
                "dealer_code": dealer.code,
                "tier": "normal",
                "points_balance": 0,
                "points_expire_date": None,
            }
        )
        joined = card.assign(updated_at=fmt_stamps(_at(rng, members["first"].to_numpy(), 15, 19)))
        latest = card.assign(
            tier=tier.to_numpy(),
            points_balance=np.asarray(points),
            points_expire_date=np.where(
                np.asarray(points) > 0, np.char.add((last_year + 1).astype(str), "-12-31"), NULL
            ),
            updated_at=fmt_stamps(_at(rng, members["last"].to_numpy(), 19, 20)),
        )
        return pd.concat([joined, latest], ignore_index=True), pd.Series(tier.to_numpy(), index=members.index)

    def _recommendations(self, rng: np.random.Generator, orders: pd.DataFrame) -> pd.DataFrame:
        """On one service visit in five the advisor recommends work the customer does not
        have done then: declined, or deferred to a date; half of it is done on the
        vehicle's next visit (a later version, status done, naming that order)."""
        closed = orders[orders.final_status == "closed"].sort_values(["vin", "open_day"], kind="stable")
        following = closed.groupby("vin")[["ro_number", "open_day", "close_day"]].shift(-1)
        pick = closed.service_type.isin(RECOMMENDING_VISITS).to_numpy() & (rng.random(len(closed)) < 0.2)
        rec, after = closed[pick], following[pick]
        n = len(rec)
        work = rng.integers(0, len(RECOMMENDED_WORK), n)
        price = np.array([p for _, _, p in RECOMMENDED_WORK])[work] * rng.lognormal(0, 0.2, n)
        deferred = rng.random(n) < 0.4
        close_day = rec["close_day"].to_numpy()
        created_at = _at(rng, close_day, 15, 19)
        base = pd.DataFrame(
            {
                "recommendation_id": np.char.replace(rec["ro_number"].to_numpy().astype(str), "RO", "RC"),
                "ro_number": rec["ro_number"].to_numpy(),
                "dealer_code": rec["dealer_code"].to_numpy(),
                "vin": rec["vin"].to_numpy(),
                "customer_id": rec["customer_id"].to_numpy(),
                "advisor_id": rec["advisor_id"].to_numpy(),
                "op_code": np.array([c for c, _, _ in RECOMMENDED_WORK])[work],
                "description": np.array([d for _, d, _ in RECOMMENDED_WORK])[work],
                "est_amount": _money(price),
                "status": np.where(deferred, "deferred", "declined"),
                "defer_until": np.where(deferred, fmt_dates(close_day + rng.integers(20, 120, n)), NULL),
                "done_ro_number": None,
                "created_at": fmt_stamps(created_at),
                "updated_at": fmt_stamps(created_at),
            }
        )
        next_day = after["open_day"].to_numpy(dtype=float)
        done = (next_day > close_day) & (rng.random(n) < 0.5)
        done_at = np.maximum(_at(rng, np.nan_to_num(next_day).astype(int), 16, 19), created_at + 60)
        later = base[done].assign(
            status="done", done_ro_number=after["ro_number"].to_numpy()[done], updated_at=fmt_stamps(done_at[done])
        )
        return pd.concat([base, later], ignore_index=True)

    def _recalls(
        self,
        rng: np.random.Generator,
        dealer: Dealer,
        vehicles: pd.DataFrame,
        visits: pd.DataFrame,
        orders: pd.DataFrame,
    ) -> pd.DataFrame:
        """The manufacturer's recall items (recall, VIN) for this chunk's vehicles, as
        versions: published; the remedy available (parts arrived); completed, days after
        the visit that did it. The group does most remedies (its order carries the
        recall code as ``campaign_code``: set on ``orders`` here), other brand dealers
        some; the rest stay open."""
        columns = [
            "recall_code",
            "recall_name",
            "vin",
            "published_date",
            "remedy_available",
            "completed_date",
            "completed_dealer_code",
            "updated_at",
        ]
        parts = []
        delivery = vehicles["delivery"].to_numpy()
        for (code, name, models, _, remedy_after, years), published in zip(RECALLS, self._recall_days(), strict=True):
            hit = np.flatnonzero(
                np.isin(vehicles["model"].to_numpy(), models)
                & (delivery <= published)
                & (delivery > published - int(years * 365))
                & (vehicles["event_day"].to_numpy() > published)
            )
            if not len(hit):
                continue
            remedy = published + remedy_after
            vins = vehicles["vin"].to_numpy()[hit]
            # the first visit at or after the remedy date, anywhere in the brand
            seen = visits[visits.veh.isin(hit) & (visits.day >= remedy) & (visits.service_type != "PDI")]
            first = seen.groupby("veh").head(1).set_index("veh").reindex(hit)
            does = first["day"].notna().to_numpy() & (rng.random(len(hit)) < 0.75)
            at_group = does & (first["dealer"].to_numpy() == dealer.code)
            grouped = orders.vin.isin(vins[at_group]) & (orders.open_day >= remedy) & (orders.final_status == "closed")
            redeemed = orders[grouped & (orders.service_type != "PDI")].groupby("vin").head(1)
            orders.loc[redeemed.index, "campaign_code"] = code
            done_day = np.where(does, first["day"].fillna(0).to_numpy(), 0).astype(int)
            done_day[at_group] = redeemed.set_index("vin")["close_day"].reindex(vins[at_group]).fillna(0).to_numpy()
            does &= done_day > 0
            item = pd.DataFrame(
                {
                    "recall_code": code,
                    "recall_name": name,
                    "vin": vins,
                    "published_date": fmt_dates(np.full(len(hit), published)),
                    "remedy_available": remedy_after == 0,
                    "completed_date": None,
                    "completed_dealer_code": None,
                    "updated_at": fmt_stamps(_at(rng, np.full(len(hit), published), 9, 10)),
                }
            )
            parts.append(item[columns])
            if remedy_after:
                ready = item.assign(
                    remedy_available=True, updated_at=fmt_stamps(_at(rng, np.full(len(hit), remedy), 9, 10))
                )
                parts.append(ready[columns])
            completed = item[does].assign(
                remedy_available=True,
                completed_date=fmt_dates(done_day[does]),
                completed_dealer_code=first["dealer"].to_numpy()[does],
                updated_at=fmt_stamps(_at(rng, done_day[does] + rng.integers(1, 6, does.sum()), 9, 18)),
            )
            parts.append(completed[columns])
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)

    def _complaints(self, rng: np.random.Generator, orders: pd.DataFrame) -> pd.DataFrame:
        """Complaints registered in the DMS after a visit: about 1.5% of visits, a quarter of
        the repairs that repeat one of the same car within 30 days (the fix did not hold).
        Each is opened, mostly answered within the hour and closed within the day, some
        late, a few closed with no answer on record."""
        done = orders[(orders.final_status == "closed") & (orders.service_type != "PDI")]
        repair = done[done.service_type.isin(["REPAIR", "WARRANTY"])].sort_values(["vin", "open_day"], kind="stable")
        gap = repair["open_day"] - repair.groupby("vin")["close_day"].shift()
        repeat = done.index.isin(repair.index[gap.to_numpy() <= 30])
        chance = np.where(repeat, 0.25, 0.015)
        hit = rng.random(len(done)) < chance
        visits, repeat = done[hit], repeat[hit]
        n = len(visits)
        opened = _at(rng, visits["close_day"].to_numpy() + rng.choice([0, 1, 2, 3], n, p=[0.4, 0.3, 0.2, 0.1]), 9, 18)
        late_reply = rng.random(n)
        answered = late_reply < 0.95  # the rest are closed with no answer on record
        responded = opened + np.where(late_reply < 0.85, rng.integers(300, 3600, n), rng.integers(3601, 8 * 3600, n))
        late_close = rng.random(n) < 0.2
        closed = np.maximum(
            responded + 600, opened + np.where(late_close, rng.integers(25, 120, n), rng.integers(2, 24, n)) * 3600
        )
        categories = np.array(["service_attitude", "repair_quality", "price", "waiting_time", "parts", "other"])
        frame = pd.DataFrame(
            {
                "complaint_id": np.char.replace(visits["ro_number"].to_numpy().astype(str), "RO", "CP"),
                "dealer_code": visits["dealer_code"].to_numpy(),
                "customer_id": visits["customer_id"].to_numpy(),
                "vin": visits["vin"].to_numpy(),
                "ro_number": visits["ro_number"].to_numpy(),
                "source": rng.choice(["walk_in", "phone", "call_center", "oem_hotline", "online"], n),
                "category": np.where(
                    repeat, "repair_quality", categories[rng.choice(6, n, p=[0.3, 0.15, 0.2, 0.2, 0.1, 0.05])]
                ),
                "severity": rng.choice(["normal", "escalated", "major"], n, p=[0.85, 0.12, 0.03]),
                "opened_at": fmt_stamps(opened),
            }
        )
        columns = [*frame.columns, "first_response_at", "closed_at", "status", "updated_at"]
        first = frame.assign(first_response_at=None, closed_at=None, status="open", updated_at=fmt_stamps(opened))
        reply = frame[answered].assign(
            first_response_at=fmt_stamps(responded[answered]),
            closed_at=None,
            status="responded",
            updated_at=fmt_stamps(responded[answered]),
        )
        close = frame.assign(
            first_response_at=np.where(answered, fmt_stamps(responded), NULL),
            closed_at=fmt_stamps(closed),
            status="closed",
            updated_at=fmt_stamps(closed),
        )
        return pd.concat([first[columns], reply[columns], close[columns]], ignore_index=True)

    def _customer_versions(self, rng: np.random.Generator, customers: pd.DataFrame) -> pd.DataFrame:
        """Created; some edited later; some duplicated at the counter, then merged;
        plus the new owners of resold vehicles (created at the resale)."""
        columns = [
            "customer_id",
            "dealer_code",
            "name",
            "gender",
            "birth_date",
            "mobile",
            "city",
            "address",
            "consent_call",
            "consent_sms",
            "member_tier",
            "merged_into_customer_id",
            "created_at",
            "updated_at",
        ]
        n = len(customers)
        created_at = _at(rng, customers["created_day"].to_numpy(), 9, 18)
        base = customers.assign(
            merged_into_customer_id=None, created_at=fmt_stamps(created_at), updated_at=fmt_stamps(created_at)
        )
        edited = base[rng.random(n) < 0.1]
        edit_day = edited["created_day"].to_numpy() + (
            (self.timeline.until - edited["created_day"].to_numpy()) * rng.random(len(edited))
        ).astype(int)
        edited = edited.assign(
            consent_call=edited["consent_call"] & (rng.random(len(edited)) > 0.3),
            address=np.char.add(edited["address"].to_numpy().astype(str), "2号楼"),
            updated_at=fmt_stamps(_at(rng, edit_day, 9, 20)),
        )
        dup = base[base.dup_day < 10**6]
        dup_day, merge_day = dup["dup_day"].to_numpy(), dup["merge_day"].to_numpy()
        dup_at = fmt_stamps(_at(rng, dup_day, 9, 18))
        duplicate = dup.assign(
            customer_id=_duplicate_id(dup["customer_id"].to_numpy()),
            mobile=dup["clean_mobile"],
            member_tier=None,
            created_at=dup_at,
            updated_at=dup_at,
        )
        merged = duplicate.assign(
            merged_into_customer_id=dup["customer_id"].to_numpy(), updated_at=fmt_stamps(_at(rng, merge_day, 9, 18))
        )
        return pd.concat([base[columns], edited[columns], duplicate[columns], merged[columns]], ignore_index=True)

    def _vehicle_versions(self, rng: np.random.Generator, vehicles: pd.DataFrame) -> pd.DataFrame:
        columns = [
            "vin",
            "customer_id",
            "dealer_code",
            "brand",
            "model",
            "model_year",
            "plate_no",
            "delivery_date",
            "warranty_end_date",
            "warranty_end_km",
            "status",
            "sales_consultant_id",
            "updated_at",
        ]
        delivery = vehicles["delivery"].to_numpy()
        base = vehicles.assign(
            delivery_date=fmt_dates(delivery),
            warranty_end_date=fmt_dates(delivery + 3 * 365),
            warranty_end_km=100_000,
            status="active",
            updated_at=fmt_stamps(_at(rng, delivery, 10, 17)),
        )
        event = base[(base.event != "") & (base.event_day <= self.timeline.until)]
        changed = event.assign(
            customer_id=np.where(
                event.event == "resold", _new_owner_id(event["vin"].to_numpy()), event["customer_id"].to_numpy()
            ),
            status=np.where(event.event == "resold", "active", event["event"].to_numpy()),
            updated_at=fmt_stamps(_at(rng, event["event_day"].to_numpy(), 10, 17)),
        )
        return pd.concat([base[columns], changed[columns]], ignore_index=True)

    def _write_insurance(
        self,
        rng: np.random.Generator,
        dealer: Dealer,
        vehicles: pd.DataFrame,
        owners: pd.DataFrame,
        orders: pd.DataFrame,
    ) -> None:
        policies = policy_rows(rng, dealer.code, vehicles, owners, self.timeline.until)
        claims = claim_rows(rng, policies, orders, self.timeline.until)
        towed = towed_elsewhere_rows(policies, self.timeline.until)
        rows = pd.concat([policies, claims, towed], ignore_index=True)
        rows = rows.assign(file_date=fmt_dates(rows["file_day"].to_numpy()))
        written = store.add_insurer_rows(self.conn, rows, self.next_line)
        self.next_line += written
        self.counts["insurer_rows"] = self.counts.get("insurer_rows", 0) + written

    # -- the manufacturer's view --------------------------------------------------------

    def _oem_basis(
        self, dealer: Dealer, vehicles: pd.DataFrame, customers: pd.DataFrame, visits: pd.DataFrame
    ) -> pd.DataFrame:
        """What the manufacturer knows of this chunk's vehicles sold by the dealer: their
        brand-wide service visits (PDI excluded), owner and life events."""
        sold_here = vehicles["dealer_code"].notna().to_numpy()
        v = vehicles[sold_here]
        seen = visits[(visits.service_type != "PDI") & sold_here[visits.veh]]
        owner = customers.iloc[v["owner"].to_numpy()]
        facts = pd.DataFrame(
            {
                "veh": np.flatnonzero(sold_here),
                "vin": v["vin"].to_numpy(),
                "delivery": v["delivery"].to_numpy(),
                "gone_day": np.where(
                    np.isin(v["event"].to_numpy(), ["sold", "scrapped"]), v["event_day"].to_numpy(), 10**6
                ),
                "customer_name": owner["name"].to_numpy(),
                "mobile_masked": [mask_mobile(m) for m in owner["clean_mobile"]],
            }
        )
        merged = seen.merge(facts[["veh"]], on="veh")
        return facts.merge(merged[["veh", "day", "dealer"]], on="veh", how="left")

    def _write_oem_lists(self, rng: np.random.Generator, dealer: Dealer, basis: pd.DataFrame) -> None:
        """Monthly lists: vehicles the dealer sold that have not been back to it for 180+
        days at month end (AT_RISK), or 365+ (LOST), with where they were last serviced.
        Published on the 3rd of the following month (occasionally a few days late)."""
        until = pd.Timestamp(fmt_dates(np.array([self.timeline.until]))[0])
        months = pd.period_range(
            end=(until - pd.offsets.MonthBegin(1)).to_period("M") - 1, periods=OEM_PERIODS, freq="M"
        )
        lists = []
        for period in months:
            cutoff = _days(period.end_time.date())
            published = _days((period + 1).start_time.date()) + 2 + (3 if rng.random() < 0.1 else 0)
            known = basis[(basis.delivery <= cutoff) & (basis.gone_day > cutoff)]
            before = known[known.day.isna() | (known.day <= cutoff)]
            here = before[before.dealer == dealer.code].groupby("veh").day.max()
            latest = before.dropna(subset=["day"]).sort_values(["veh", "day"]).groupby("veh").tail(1).set_index("veh")
            vehicles = known.drop_duplicates("veh").set_index("veh")
            last_here = here.reindex(vehicles.index).fillna(vehicles["delivery"])
            days = cutoff - last_here
            flagged = vehicles[days >= 180].assign(days=days[days >= 180])
            last_any = latest.reindex(flagged.index)
            elsewhere = last_any["dealer"].notna() & (last_any["dealer"] != dealer.code)
            items = pd.DataFrame(
                {
                    "dealer_code": dealer.code,
                    "period": str(period),
                    "generated_at": fmt_stamps(np.array([published * 86_400 + 6 * 3600]))[0],
                    "vin": flagged["vin"].to_numpy(),
                    "customer_name": flagged["customer_name"].to_numpy(),
                    "mobile_masked": flagged["mobile_masked"].to_numpy(),
                    "last_service_dealer_code": last_any["dealer"].to_numpy(),
                    "last_service_date": np.where(
                        last_any["day"].notna(), fmt_dates(last_any["day"].fillna(0).to_numpy()), NULL
                    ),
                    "oem_status": np.where(flagged["days"] >= 365, "LOST", "AT_RISK"),
                    "reason_hint": np.where(elsewhere, "SERVICED_AT_OTHER_DEALER", NULL),
                }
            ).sort_values("vin", kind="stable")
            items["item_no"] = np.arange(1, len(items) + 1)
            lists.append(items)
        items = pd.concat(lists, ignore_index=True)
        self.counts["oem_lost_customers"] = self.counts.get("oem_lost_customers", 0) + store.add_oem_items(
            self.conn,
            items,
            [
                "vin",
                "customer_name",
                "mobile_masked",
                "last_service_dealer_code",
                "last_service_date",
                "oem_status",
                "reason_hint",
            ],
        )


# -- small vectorised helpers ---------------------------------------------------------------


def _duplicate_id(customer_ids: np.ndarray) -> np.ndarray:
    """Customer id of a customer's duplicate record (merged into the original later)."""
    return np.char.add(customer_ids.astype(str), "D")


def _new_owner_id(vins: np.ndarray) -> np.ndarray:
    """Customer id of a resold vehicle's next owner (one per vehicle)."""
    return np.char.add("N", vins.astype(str))


def _days_of_year_start(years: np.ndarray) -> np.ndarray:
    return (years - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(int)


def _plates(rng: np.random.Generator, prefix: str, n: int) -> np.ndarray:
    alphabet = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"))
    tail = alphabet[rng.integers(0, len(alphabet), size=(n, 5))]
    return np.char.add(f"{prefix}·", np.array(["".join(r) for r in tail]))


# Typical labour and parts (CNY) per service type: (labour median, parts median).
_PRICES = {
    "PDI": (0, 0),
    "FIRST_SERVICE": (0, 180),
    "MAINTENANCE": (180, 420),
    "REPAIR": (450, 900),
    "WARRANTY": (0, 0),
    "BODY_PAINT": (1800, 2600),
    "ACCESSORY": (80, 1200),
    "INSPECTION": (120, 30),
    "CAMPAIGN": (0, 60),
}


def _amounts(rng: np.random.Generator, kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labor_median = np.vectorize(lambda k: _PRICES[k][0], otypes=[float])(kind)
    parts_median = np.vectorize(lambda k: _PRICES[k][1], otypes=[float])(kind)
    spread = rng.lognormal(0, 0.45, (2, len(kind)))
    return np.round(labor_median * spread[0], 0), np.round(parts_median * spread[1], 2)


def _campaign_redeemed(
    rng: np.random.Generator, day: np.ndarray, kind: np.ndarray, campaigns: pd.DataFrame
) -> np.ndarray:
    """A third of the visits during a dealer campaign redeem it; campaign visits always do."""
    code = np.full(len(day), None, dtype=object)
    for row in campaigns.itertuples():
        hit = (day >= row.start_day) & (day <= row.end_day) & ((rng.random(len(day)) < 0.33) | (kind == "CAMPAIGN"))
        code[hit] = row.campaign_code
    return code


def generate(
    path: Path,
    scale: str = "small",
    seed: int = 1,
    until: dt.date = dt.date(2026, 12, 31),
    clock: dt.date | None = None,
) -> dict[str, int]:
    """Generate a world into ``path``: six years ending ``until``; the clock (what the
    feeds show) starts at ``clock`` (default: ``until``). Returns versions per entity."""
    timeline = Timeline(start=_days(until.replace(year=until.year - 6)), until=_days(until))
    conn = store.create(path, bulk=True)
    try:
        counts = WorldGenerator(conn, SCALES[scale], seed, timeline).run()
        store.finish(conn)
        store.set_meta(
            conn,
            seed=seed,
            scale=scale,
            start=fmt_dates(np.array([timeline.start]))[0],
            until=until.isoformat(),
            clock=f"{(clock or until).isoformat()}T00:00:00+08:00",
        )
    finally:
        conn.close()
    return counts
