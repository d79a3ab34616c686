"""Insurance as the insurers see it: yearly policies (compulsory 交强险 and commercial
商业险) that renew, lapse or move insurer, and claims for the accidents that bring
BODY_PAINT orders (plus some repaired outside the group). Rows are generated with the
world and written as each insurer's daily files by ``insurer_files``."""

from __future__ import annotations

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
    stages = []
    for status, day in (("已报案", report), ("已定损", assessed), ("已结案", closed)):
        slash = rng.random((2, n)) < 0.3
        stages.append(
            pd.DataFrame(
                {
                    "insurer_code": matched["insurer_code"].to_numpy(),
                    "kind": "CLAIM",
                    "file_day": day,
                    "fields": list(
                        zip(
                            b["insurance_claim_no"].to_numpy(),
                            matched["policy_no"].to_numpy(),
                            b["vin"].to_numpy(),
                            _dates(matched["loss"].to_numpy(), slash[0]),
                            _dates(report, slash[1]),
                            np.where(status == "已报案", "0.00", amount),
                            b["dealer_code"].to_numpy(),
                            np.full(n, status),
                            strict=False,
                        )
                    ),
                }
            )
        )
    claims = pd.concat(stages, ignore_index=True)
    return claims[claims.file_day <= until]
