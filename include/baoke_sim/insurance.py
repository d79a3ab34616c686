"""Insurance as the insurers see it: yearly policies (compulsory 交强险 and commercial
商业险) that renew, lapse or move insurer, and claims for the accidents that bring
BODY_PAINT orders, plus accidents towed elsewhere and repaired outside the group (no
维修单位代码 at any stage). A claim names its repairer once the car is there: an accident
reported before its BODY_PAINT order opened is reported without one, the moment the
platform's ACCIDENT_LEAD call can still win the car (the call-center simulator wins some
of the towed-elsewhere ones, ``callcenter.ACCIDENT_LEAD``). Rows are generated with the
world and written as each insurer's daily files by ``insurer_files``."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

#: (code, name, file encoding): most insurers send GB18030, one sends UTF-8 with a BOM.
INSURERS = [("PICC", "中国人保", "gb18030"), ("CPIC", "太平洋保险", "utf-8-sig"), ("PAIC", "平安保险", "gb18030")]
POLICY_HEADER = [
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
]
CLAIM_HEADER = ["报案号", "保单号", "车架号", "出险日期", "报案日期", "定损金额", "维修单位代码", "案件状态"]
#: The share of commercial policy-years with an accident towed elsewhere (repaired outside
#: the group), before any call: the ones nobody called in time stay there.
TOWED_ELSEWHERE_RATE = 0.06
#: Claim numbers of accidents towed elsewhere start with this.
TOWED_PREFIX = "CLX-"


def _dates(days: np.ndarray, slash: np.ndarray) -> np.ndarray:
    """Both date formats occur in the same file (feeds.md §2)."""
    iso = np.datetime_as_string(days.astype("int64").astype("datetime64[D]"))
    return np.where(slash, np.char.replace(iso, "-", "/"), iso)


def policy_rows(
    rng: np.random.Generator, dealer_code: str, vehicles: pd.DataFrame, owners: pd.DataFrame, until: int
) -> pd.DataFrame:
    """Yearly policies per vehicle from delivery on: each year renews with the same
    insurer (most), moves insurer, or lapses (likelier once the warranty has ended)."""
    n = len(vehicles)
    delivery = vehicles["delivery"].to_numpy()
    stop = np.minimum(vehicles["event_day"].to_numpy(), until)
    insurer = rng.integers(0, len(INSURERS), n)
    at_group = rng.random(n) < 0.75
    alive = np.ones(n, dtype=bool)
    parts = []
    for year in range(7):
        start = delivery + 365 * year
        live = alive & (start <= stop)
        if not live.any():
            break
        idx = np.flatnonzero(live)
        parts.append(
            pd.DataFrame(
                {"veh": idx, "year": year, "start": start[idx], "insurer": insurer[idx], "at_group": at_group[idx]}
            )
        )
        keep = np.where(year < 2, 0.92, 0.78)
        alive &= rng.random(n) < keep
        moved = rng.random(n) < 0.15
        insurer = np.where(moved, rng.integers(0, len(INSURERS), n), insurer)
        at_group &= rng.random(n) < np.where(year < 2, 0.9, 0.7)
    years = pd.concat(parts, ignore_index=True)
    m = len(years)
    veh = years["veh"].to_numpy()
    owner = owners.iloc[vehicles["owner"].to_numpy()[veh]]
    issue = years["start"].to_numpy() - rng.integers(0, 25, m)
    issue = np.minimum(issue, until - 1)
    rows = []
    for coverage, premium in (
        ("交强险", rng.choice([950.0, 1100.0], m)),
        ("商业险", rng.lognormal(np.log(3800), 0.3, m)),
    ):
        slash = rng.random((2, m)) < 0.3
        code = np.array([c for c, _, _ in INSURERS])[years["insurer"].to_numpy()]
        number = np.char.add(
            np.char.add(code, "-P"),
            np.char.add(vehicles["vin"].to_numpy()[veh], f"{'J' if coverage == '交强险' else 'S'}"),
        )
        number = np.char.add(number, years["year"].to_numpy().astype(str))
        rows.append(
            pd.DataFrame(
                {
                    "insurer_code": code,
                    "kind": "POLICY",
                    "file_day": issue,
                    "policy_no": number,
                    "vin": vehicles["vin"].to_numpy()[veh],
                    "start": years["start"].to_numpy(),
                    "fields": list(
                        zip(
                            number,
                            vehicles["vin"].to_numpy()[veh],
                            vehicles["plate_no"].to_numpy()[veh],
                            owner["name"].to_numpy(),
                            owner["clean_mobile"].to_numpy(),
                            np.full(m, coverage),
                            _dates(years["start"].to_numpy(), slash[0]),
                            _dates(years["start"].to_numpy() + 364, slash[0]),
                            np.char.mod("%.2f", np.round(premium, 2)),
                            _dates(issue, slash[1]),
                            np.where(years["at_group"].to_numpy(), dealer_code, ""),
                            strict=False,
                        )
                    ),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def claim_rows(rng: np.random.Generator, policies: pd.DataFrame, orders: pd.DataFrame, until: int) -> pd.DataFrame:
    """Claims for the group's BODY_PAINT orders with a claim number: reported, assessed,
    then closed, each stage in that day's file."""
    body = orders[orders["insurance_claim_no"].notna()]
    commercial = policies[policies["fields"].map(lambda f: f[5] == "商业险")]
    covering = commercial.sort_values("start").drop_duplicates(["vin", "start"])
    loss = body["open_day"].to_numpy() - rng.integers(0, 4, len(body))
    matched = (
        pd.merge_asof(
            pd.DataFrame({"vin": body["vin"].to_numpy(), "loss": loss, "k": np.arange(len(body))}).sort_values("loss"),
            covering[["vin", "start", "policy_no", "insurer_code"]].sort_values("start"),
            left_on="loss",
            right_on="start",
            by="vin",
            direction="backward",
        )
        .dropna(subset=["policy_no"])
        .sort_values("k")
    )
    b = body.iloc[matched["k"].to_numpy()]
    n = len(matched)
    report = matched["loss"].to_numpy() + rng.integers(0, 2, n)
    assessed = report + rng.integers(1, 4, n)
    closed = b["close_day"].to_numpy() + rng.integers(3, 20, n)
    amount = np.char.mod("%.2f", b["total"].to_numpy() * rng.uniform(0.9, 1.05, n))
    # the repairer is on the claim once the car is there: not on a report made before the order opened
    at_report = np.where(report < b["open_day"].to_numpy(), "", b["dealer_code"].to_numpy())
    return _claim_stages(
        rng,
        until,
        matched["insurer_code"].to_numpy(),
        b["insurance_claim_no"].to_numpy(),
        matched["policy_no"].to_numpy(),
        b["vin"].to_numpy(),
        matched["loss"].to_numpy(),
        (("已报案", report, at_report), ("已定损", assessed, b["dealer_code"].to_numpy()), ("已结案", closed, None)),
        amount,
    )


def towed_elsewhere_rows(policies: pd.DataFrame, until: int) -> pd.DataFrame:
    """Accidents of insured vehicles towed elsewhere and repaired outside the group: one in
    ``TOWED_ELSEWHERE_RATE`` of the commercial policy-years, its claim reported, assessed
    and closed with no repairer (维修单位代码 empty). Drawn from a generator of its own,
    seeded by the chunk's policies, so adding them changed nothing else in the world."""
    commercial = policies[policies["fields"].map(lambda f: f[5] == "商业险")]
    if commercial.empty:
        return commercial
    rng = np.random.default_rng(zlib.crc32(commercial["policy_no"].iloc[0].encode()))
    hit = commercial[rng.random(len(commercial)) < TOWED_ELSEWHERE_RATE]
    n = len(hit)
    loss = hit["start"].to_numpy() + rng.integers(0, 364, n)
    report = loss + rng.integers(0, 2, n)
    assessed = report + rng.integers(2, 6, n)
    closed = assessed + rng.integers(10, 31, n)
    amount = np.char.mod("%.2f", rng.lognormal(np.log(6000), 0.5, n))
    nobody = np.full(n, "")
    return _claim_stages(
        rng,
        until,
        hit["insurer_code"].to_numpy(),
        np.char.add(TOWED_PREFIX, hit["policy_no"].to_numpy().astype(str)),
        hit["policy_no"].to_numpy(),
        hit["vin"].to_numpy(),
        loss,
        (("已报案", report, nobody), ("已定损", assessed, nobody), ("已结案", closed, None)),
        amount,
    )


def _claim_stages(
    rng: np.random.Generator,
    until: int,
    insurer: np.ndarray,
    claim_no: np.ndarray,
    policy_no: np.ndarray,
    vin: np.ndarray,
    loss: np.ndarray,
    stages: tuple[tuple[str, np.ndarray, np.ndarray | None], ...],
    amount: np.ndarray,
) -> pd.DataFrame:
    """A claim's rows, one per stage (status, the day of the file it is in, the repairer
    then: None keeps the previous stage's), each in that day's file, up to ``until``."""
    n = len(claim_no)
    report = stages[0][1]
    frames = []
    repairer = np.full(n, "")
    for status, day, named in stages:
        repairer = repairer if named is None else named
        slash = rng.random((2, n)) < 0.3
        frames.append(
            pd.DataFrame(
                {
                    "insurer_code": insurer,
                    "kind": "CLAIM",
                    "file_day": day,
                    "fields": list(
                        zip(
                            claim_no,
                            policy_no,
                            vin,
                            _dates(loss, slash[0]),
                            _dates(report, slash[1]),
                            np.where(status == "已报案", "0.00", amount),
                            repairer,
                            np.full(n, status),
                            strict=False,
                        )
                    ),
                }
            )
        )
    claims = pd.concat(frames, ignore_index=True)
    return claims[claims.file_day <= until]
