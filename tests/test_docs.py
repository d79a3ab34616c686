"""The project documents itself: docs/ describes what the platform implements, the README
links it, and nothing in the repository points at documents outside it (a fresh clone
has only what is tracked here). Fast: reads files, needs no warehouse, Airflow or dbt."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "feeds.md", "rules.md", "outputs.md")

#: Paths that only exist beside a development checkout, never in a clone.
OUTSIDE_PATH = re.compile(rb"\.\./shared|shared/(specs|seeds)")

#: Sections code and model descriptions cite ("rules §3", "feeds.md §1"): their numbers must stay.
SECTIONS = {"feeds.md": 5, "rules.md": 9, "outputs.md": 5}

_LINK = re.compile(r"\]\(([^)\s]+)\)")


def tracked_files() -> list[Path]:
    """Every file git tracks in this checkout (skips the test outside a git checkout)."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in listing.decode().split("\0") if name]


def test_no_tracked_file_points_outside_the_repository():
    offenders = []
    for path in tracked_files():
        relative = path.relative_to(ROOT)
        if relative.parts[0] == "tests" or not path.is_file():
            continue
        for number, line in enumerate(path.read_bytes().splitlines(), start=1):
            if OUTSIDE_PATH.search(line):
                offenders.append(f"{relative}:{number}: {line.decode(errors='replace').strip()}")
    assert not offenders, "documents outside the repository are cited; cite docs/ instead:\n" + "\n".join(offenders)


def test_docs_exist_and_the_readme_links_them():
    for name in DOCS:
        assert (ROOT / "docs" / name).is_file(), f"docs/{name} is missing"
    links = set(_LINK.findall((ROOT / "README.md").read_text(encoding="utf-8")))
    for name in ("docs/feeds.md", "docs/rules.md", "docs/outputs.md"):
        assert name in links, f"README.md does not link {name}"
    index = set(_LINK.findall((ROOT / "docs" / "README.md").read_text(encoding="utf-8")))
    assert {"feeds.md", "rules.md", "outputs.md"} <= index, "docs/README.md must link every page"


@pytest.mark.parametrize(("name", "count"), sorted(SECTIONS.items()))
def test_docs_keep_their_section_numbers(name: str, count: int):
    headings = re.findall(r"^## (\d+)\. ", (ROOT / "docs" / name).read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert [int(h) for h in headings] == list(range(1, count + 1)), f"docs/{name}: sections §1-§{count}, in order"


def test_relative_links_in_the_docs_resolve():
    broken = []
    for page in [ROOT / "README.md", *(ROOT / "docs" / name for name in DOCS)]:
        for target in _LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a web address or an anchor on the same page
            if not (page.parent / target.split("#")[0]).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)
