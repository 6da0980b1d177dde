"""Exports in the shape Genesys Cloud gives them, made from simulated lifecycles.

``GET /api/v2/conversations/callbacks/{id}`` answers with ``{"id", "participants": [...]}``, each
participant as it ended; ``GET /api/v2/conversations/callbacks`` wraps conversations in a listing
page (``entities``, ``pageSize``, ``pageNumber``, ``total``, ``pageCount``, URIs). The tests build
such exports from generated lifecycles, so nothing personal is ever committed.

``python tests/export_shapes.py`` writes ``tests/data/example-export.json`` again (the test suite
checks that the committed file is exactly what this gives).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import orjson

from callbacksim.generation.lifecycle import Lifecycle, LifecycleStream
from callbacksim.generation.participants import ANCHOR_MS
from callbacksim.generation.profile import DEFAULT
from callbacksim.model import Edition

EXAMPLE = Path(__file__).parent / "data" / "example-export.json"


def export(lifecycle: Lifecycle) -> dict[str, Any]:
    """A conversation as the API shows it once it ended: every participant's final state."""
    return {"id": lifecycle.conversation_id, "participants": list(lifecycle.finals().values())}


def pages(conversations: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    """The conversations as listing pages of ``size`` entities."""
    count = max(1, math.ceil(len(conversations) / size))
    out = []
    for number in range(1, count + 1):
        uri = f"/api/v2/conversations/callbacks?pageSize={size}&pageNumber={number}"
        out.append(
            {
                "entities": conversations[(number - 1) * size : number * size],
                "pageSize": size,
                "pageNumber": number,
                "total": len(conversations),
                "pageCount": count,
                "selfUri": uri,
            }
        )
    return out


def generated(
    count: int, seed: int = 1, edition: Edition = Edition.SEED, **profile: Any
) -> list[Lifecycle]:
    stream = LifecycleStream(
        seed, profile=DEFAULT.with_overrides(profile), edition=edition, start_ms=ANCHOR_MS
    )
    return list(itertools.islice(stream, count))


def example_export() -> bytes:
    """The example shipped with the tests: one listing page of 20 finished callbacks."""
    conversations = [export(lc) for lc in generated(20, seed=2026)]
    (page,) = pages(conversations, 25)
    return orjson.dumps(page, option=orjson.OPT_INDENT_2) + b"\n"


if __name__ == "__main__":
    EXAMPLE.parent.mkdir(exist_ok=True)
    EXAMPLE.write_bytes(example_export())
    print(f"wrote {EXAMPLE}")
