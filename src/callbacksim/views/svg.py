"""The one SVG helper: escaping, elements and text labels, for the lifecycle pictures and the
report's charts alike (and, since its escaping suits HTML too, for the pages around them)."""

from __future__ import annotations

import html

__all__ = ["element", "escape", "text"]


def escape(value: object) -> str:
    """``value`` as text, safe in XML or HTML content and in a double-quoted attribute."""
    return html.escape(str(value), quote=True)


def element(tag: str, content: object = None, tip: str | None = None, /, **attrs: object) -> str:
    """One element with escaped ``content`` and attributes, self-closing when it has neither
    content nor ``tip`` (a tooltip: a ``<title>`` inside). Attribute names are written with
    hyphens and without a trailing underscore: ``font_size`` is ``font-size``, ``class_``
    ``class``."""
    named = "".join(f' {k.rstrip("_").replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    inner = "" if content is None else escape(content)
    inner += f"<title>{escape(tip)}</title>" if tip else ""
    return f"<{tag}{named}>{inner}</{tag}>" if inner else f"<{tag}{named}/>"


def text(x: float, y: float, content: str, /, anchor: str = "middle", **attrs: object) -> str:
    """A ``<text>`` label at (``x``, ``y``), to a tenth of a unit, anchored ``anchor``."""
    return element("text", content, x=f"{x:.1f}", y=f"{y:.1f}", text_anchor=anchor, **attrs)
