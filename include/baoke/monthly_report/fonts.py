"""The report's Chinese font, carried inside the file.

A store manager opens the report on whatever machine is at hand, often one with no
Chinese font for the browser to fall back on. So the report brings its own: Noto Sans
CJK SC (SIL Open Font License), shipped by the ``mplfonts`` package. The charts draw
their text as outlines with it (matplotlib), and the HTML embeds the font cut down to
the characters the page uses (fontTools' subsetter) — some tens of kilobytes instead of
16 MB.
"""

from __future__ import annotations

import base64
import functools
import io
from pathlib import Path

#: The family name the report's stylesheet and charts use.
FAMILY = "Noto Sans CJK SC"


@functools.cache
def font_path() -> Path:
    """Noto Sans CJK SC Regular, as installed with the ``mplfonts`` package."""
    from mplfonts.conf import FONT_DIR

    return Path(FONT_DIR) / "NotoSansCJKsc-Regular.otf"


def subset_font(text: str) -> bytes:
    """The font cut down to the characters of ``text`` (and printable ASCII), as OpenType:
    the same text gives the same bytes."""
    import logging

    from fontTools import subset

    logging.getLogger("fontTools").setLevel(logging.WARNING)  # it logs every table it cuts
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    font = subset.load_font(str(font_path()), options)
    subsetter = subset.Subsetter(options)
    characters = {chr(c) for c in range(0x20, 0x7F)} | set(text)
    subsetter.populate(text="".join(sorted(characters)))
    subsetter.subset(font)
    out = io.BytesIO()
    subset.save_font(font, out, options)
    return out.getvalue()


def font_face_css(text: str) -> str:
    """An ``@font-face`` rule that embeds the subset for ``text`` as a data URL."""
    data = base64.b64encode(subset_font(text)).decode("ascii")
    return (
        f"@font-face {{ font-family: '{FAMILY}'; font-weight: 400 700;"
        f" src: url(data:font/otf;base64,{data}) format('opentype'); }}"
    )


def missing_glyphs(font_bytes: bytes, text: str) -> set[str]:
    """The characters of ``text`` (other than whitespace) the font has no glyph for: what
    a browser would draw as missing-glyph boxes if nothing else covered them."""
    from fontTools.ttLib import TTFont

    cmap = TTFont(io.BytesIO(font_bytes)).getBestCmap()
    return {ch for ch in text if not ch.isspace() and ord(ch) not in cmap}
