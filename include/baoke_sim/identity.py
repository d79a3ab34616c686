"""People and vehicles as the DMS records them: Chinese names, mobiles typed messily at
the counter, valid VINs with their check digit, plates. Vectorised with numpy: the
``large`` world needs millions of each, so nothing here loops per row over Faker."""

from __future__ import annotations

import numpy as np
from faker import Faker

# ISO 3779 check digit: letters map to values (I, O, Q are never used in a VIN).
_TRANSLIT = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=False)),
    **dict(zip("JKLMN", range(1, 6), strict=False)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=False)),
}
_WEIGHTS = np.array([8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2])
_VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
# Model-year codes (position 10) from 2010 on: A=2010 … Y=2030, skipping I, O, Q, U, Z.
_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY"

# Chinese mobile prefixes in use (the first three digits).
_MOBILE_PREFIXES = np.array(
    [
        130,
        131,
        132,
        133,
        135,
        136,
        137,
        138,
        139,
        150,
        151,
        152,
        155,
        156,
        157,
        158,
        159,
        166,
        173,
        175,
        176,
        177,
        178,
        180,
        181,
        182,
        183,
        185,
        186,
        187,
        188,
        189,
        191,
        198,
        199,
    ]
)


def vin_check_digit(vin: str) -> str:
    """The 9th character of a valid VIN, computed from the other sixteen."""
    total = sum(_TRANSLIT[c] * w for c, w in zip(vin.upper(), _WEIGHTS, strict=False))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def is_valid_vin(vin: str) -> bool:
    return len(vin) == 17 and all(c in _TRANSLIT for c in vin) and vin[8] == vin_check_digit(vin)


def make_vins(rng: np.random.Generator, model_years: np.ndarray, wmi: str = "LHX") -> np.ndarray:
    """Unique-looking valid VINs: WMI + 5 random VDS chars + check digit + model-year code
    + plant + 6 random serial chars (uniqueness is checked by the caller)."""
    n = len(model_years)
    alphabet = np.array(list(_VIN_ALPHABET))
    vds = alphabet[rng.integers(0, len(alphabet), size=(n, 5))]
    serial = np.array(list("0123456789"))[rng.integers(0, 10, size=(n, 6))]
    plant = alphabet[rng.integers(10, len(alphabet), size=(n, 1))]
    year = np.array(list(_YEAR_CODES))[np.clip(model_years - 2010, 0, len(_YEAR_CODES) - 1)].reshape(n, 1)
    chars = np.concatenate(
        [np.tile(np.array(list(wmi)), (n, 1)), vds, np.full((n, 1), "0"), year, plant, serial], axis=1
    )
    values = np.vectorize(_TRANSLIT.__getitem__, otypes=[np.int64])(chars)
    remainder = (values * _WEIGHTS).sum(axis=1) % 11
    chars[:, 8] = np.where(remainder == 10, "X", remainder.astype(str))
    return np.array(["".join(row) for row in chars])


def make_mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    """Valid 11-digit Chinese mobile numbers."""
    prefix = _MOBILE_PREFIXES[rng.integers(0, len(_MOBILE_PREFIXES), size=n)]
    rest = rng.integers(0, 100_000_000, size=n)
    return np.char.add(prefix.astype(str), np.char.zfill(rest.astype(str), 8))


#: How mobiles are typed at the counter (feeds.md §1), with their shares.
MOBILE_STYLES: dict[str, float] = {
    "plain": 0.80,  # 13800138000
    "intl_dashed": 0.06,  # +86 138-0013-8000
    "intl_0086": 0.04,  # 0086 13800138000
    "spaced": 0.03,  # 138 0013 8000
    "empty": 0.025,  # ""
    "null": 0.025,  # null
    "garbage": 0.02,  # a landline, a truncated number, a note
}


def type_mobiles(rng: np.random.Generator, mobiles: np.ndarray) -> list[str | None]:
    """The mobiles as the DMS shows them: mostly clean, some messy, a few invalid."""
    styles = rng.choice(list(MOBILE_STYLES), size=len(mobiles), p=list(MOBILE_STYLES.values()))
    garbage = ["0512-6688" + "{:04d}", "1380013{:03d}", "无", "{:05d}", "138001380001{:01d}"]
    out: list[str | None] = []
    for mobile, style, k in zip(
        mobiles.tolist(), styles.tolist(), rng.integers(0, 1000, len(mobiles)).tolist(), strict=False
    ):
        if style == "plain":
            out.append(mobile)
        elif style == "intl_dashed":
            out.append(f"+86 {mobile[:3]}-{mobile[3:7]}-{mobile[7:]}")
        elif style == "intl_0086":
            out.append(f"0086 {mobile}")
        elif style == "spaced":
            out.append(f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}")
        elif style == "empty":
            out.append("")
        elif style == "null":
            out.append(None)
        else:
            out.append(garbage[k % len(garbage)].format(k % 10 if "{:01d}" in garbage[k % len(garbage)] else k))
    return out


def mask_mobile(mobile: str) -> str:
    """The OEM's masked form: 138****8000."""
    return f"{mobile[:3]}****{mobile[-4:]}"


class NamePools:
    """Pools of Chinese surnames, given names and street addresses drawn once from Faker
    (zh_CN, seeded), then combined with numpy: realistic, fast and deterministic."""

    def __init__(self, seed: int, size: int = 400):
        fake = Faker("zh_CN")
        fake.seed_instance(seed)
        self.surnames = np.array([fake.last_name() for _ in range(size)])
        self.male = np.array([fake.first_name_male() for _ in range(size)])
        self.female = np.array([fake.first_name_female() for _ in range(size)])
        self.streets = np.array([fake.street_address() for _ in range(size * 2)])

    def names(self, rng: np.random.Generator, genders: np.ndarray) -> np.ndarray:
        surname = self.surnames[rng.integers(0, len(self.surnames), len(genders))]
        given = np.where(
            genders == "F",
            self.female[rng.integers(0, len(self.female), len(genders))],
            self.male[rng.integers(0, len(self.male), len(genders))],
        )
        return np.char.add(surname, given)

    def addresses(self, rng: np.random.Generator, cities: np.ndarray, districts: np.ndarray) -> np.ndarray:
        street = self.streets[rng.integers(0, len(self.streets), len(cities))]
        return np.char.add(np.char.add(cities, districts), street)
