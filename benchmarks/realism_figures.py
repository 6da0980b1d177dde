"""Realism figures of a generated sample: what the simulated callbacks show, read from the wire.

Draws ``--count`` lifecycles per edition from the default profile (seed ``--seed``) and prints,
for each edition, figures read from the snapshots alone (never from the plans, so the same script
measures any version of the simulator):

- snapshots that break a validity rule of either edition (none should);
- the state customer and queue legs show before they are routed (share of ``scheduled``), and
  what the notification adapter shows for them;
- ``wrapupRequired`` on accepted agent legs; the ``wrapupPrompt`` values; timed-out wrap-ups under
  a prompt that has no timeout;
- the customer's ``disconnectType`` at the end of a served callback;
- IVR callbacks whose customer starts with the conversation; transferred callbacks' second queue
  legs (inherited ``callbackScheduledTime``, ``conversationRoutingData``);
- ``externalCampaign`` and previews; what the queue leg's ``peer`` names;
- how many lifecycles show each callback variant (agent-owned, Customer First, ...);
- the shape of a notification envelope's ``CorrelationId``.

Run it with ``python benchmarks/realism_figures.py [--count 400] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import itertools
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from callbacksim.generation.lifecycle import WRAPUP_TIMEOUT_CODE, Lifecycle, LifecycleStream
from callbacksim.generation.participants import ANCHOR_MS
from callbacksim.model import Edition
from callbacksim.rules import check
from callbacksim.simulator.adapters import Delivery, notification_envelope
from callbacksim.wiretime import epoch_ms, parse_datetime

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CALLBACK_LEGS = {"customer", "external", "acd"}


def ms(value: str) -> int:
    return epoch_ms(parse_datetime(value))


def legs(lc: Lifecycle) -> dict[str, list[dict[str, Any]]]:
    """Each participant's snapshots, in order, by participant id."""
    out: dict[str, list[dict[str, Any]]] = {}
    for e in lc.events:
        out.setdefault(e.participant_id, []).append(e.participant)
    return out


def of(lc: Lifecycle, *purposes: str) -> list[list[dict[str, Any]]]:
    return [snaps for snaps in legs(lc).values() if snaps[0]["purpose"] in purposes]


def share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.1f}%)" if whole else f"{part}/0"


def variants(lc: Lifecycle) -> set[str]:
    """The callback variants a lifecycle shows, read from its snapshots (how legs end is read with
    the default profile's choices)."""
    out: set[str] = set()
    (customer,) = of(lc, "customer", "external")
    acds = of(lc, "acd")
    agents = of(lc, "agent")
    first, final = customer[0], customer[-1]
    routing = acds[0][0].get("conversationRoutingData") or {}
    scored = routing.get("scoredAgents") or []
    served = [a[-1] for a in agents if "connectedTime" in a[-1]]
    dialled = [s for s in customer if s.get("state") == "dialing"]
    answered = "connectedTime" in final
    if len(scored) == 1 and scored[0].get("score") == 100:
        out.add("agent-owned")
        if any("scoredAgents" not in (s.get("conversationRoutingData") or {}) for s in acds[0]):
            out.add("ownership-requeued")
        elif not agents and final.get("disconnectType") == "system":
            out.add("ownership-expired")
    elif scored:
        out.add("self-scheduled")
    if first["purpose"] == "external":
        out.add("external-purpose")
    if dialled:
        out.add("customer-first")
    if len(dialled) > 1:
        out.add("dial-retry")
    if dialled and not answered:
        out.add("unreachable")
    if dialled and answered and not agents and final.get("disconnectType") == "system":
        out.add("answering-machine (hung up on, or sent to a flow)")
    created = ms(acds[0][0]["startTime"])
    if "callbackScheduledTime" in first and ms(first["callbackScheduledTime"]) <= created:
        out.add("scheduled-now")
    if len({s.get("callbackScheduledTime") for s in customer}) > 1:
        out.add("rescheduled")
    if served and served[-1].get("disconnectType") == "system":
        out.add("auto-dial")
    if answered and agents and not served and final.get("disconnectType") == "system":
        out.add("given-up")
    if "attributes" in first:
        out.add("attributes")
    if "script" in first:
        out.add("script")
    return out


def figures(lcs: Iterable[Lifecycle]) -> list[tuple[str, str]]:
    c: Counter[str] = Counter()
    prompts: Counter[str] = Counter()
    customer_ends: Counter[str] = Counter()
    required_false: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    correlation = ""
    for lc in lcs:
        c["lifecycles"] += 1
        c["snapshots"] += len(lc.events)
        if not correlation:
            e = lc.events[0]
            key = f"{lc.conversation_id}:{e.participant_id}:{e.sequence}"  # as replay makes it
            delivery = Delivery(e.to_wire(), (e.participant,), key)
            correlation = notification_envelope(delivery)["metadata"]["CorrelationId"]
        any_scheduled = False
        for e in lc.events:
            p = e.participant
            c["snapshots breaking a rule"] += any(
                check(p, edition=ed, path_id=e.participant_id) for ed in Edition
            )
            waiting = "connectedTime" not in p and "endTime" not in p and p["state"] != "dialing"
            if p["purpose"] in CALLBACK_LEGS and waiting:
                c["waiting snapshots"] += 1
                c["waiting snapshots in state scheduled"] += p.get("state") == "scheduled"
                key = f"{lc.conversation_id}:{e.participant_id}:{e.sequence}"
                body = notification_envelope(Delivery(e.to_wire(), (p,), key))["eventBody"]
                topic = body["participants"][0]
                c["...shown as scheduled by the notification adapter"] += (
                    topic.get("state") == "scheduled" and topic.get("initialState") == "scheduled"
                )
            if p.get("state") == "scheduled":
                c["snapshots in state scheduled"] += 1
                any_scheduled = True
        c["conversations with a scheduled-state snapshot"] += any_scheduled
        (customer,) = of(lc, "customer", "external")
        agents = of(lc, "agent")
        acds = of(lc, "acd")
        for agent in agents:
            final = agent[-1]
            prompts[str(final.get("wrapupPrompt"))] += 1
            if "connectedTime" not in final:
                continue
            c["accepted agent legs"] += 1
            c["accepted legs with wrapupRequired true"] += final.get("wrapupRequired") is True
            if final.get("wrapupRequired") is not True:
                required_false[str(final.get("wrapupPrompt"))] += 1
            if final.get("wrapupSkipped") is True:
                c["skipped wrap-ups"] += 1
                c["...of them under a prompt other than optional"] += (
                    final.get("wrapupPrompt") != "optional"
                )
            if (final.get("wrapup") or {}).get("code") == WRAPUP_TIMEOUT_CODE:
                c["wrap-ups forced by timeout"] += 1
                c["...of them under a prompt without a timeout"] += final.get("wrapupPrompt") in {
                    "optional",
                    "mandatory",
                }
        if any("connectedTime" in a[-1] for a in agents):
            customer_ends[str(customer[-1].get("disconnectType"))] += 1
        ivr = of(lc, "ivr")
        if ivr:
            c["IVR callbacks"] += 1
            start = lc.events[0].time_ms
            c["...customer startTime = conversation start"] += ms(customer[0]["startTime"]) == start
        if len(acds) >= 2:
            for second in acds[1:]:
                c["later queue legs"] += 1
                scheduled = second[0].get("callbackScheduledTime")
                c["...callbackScheduledTime before their own start"] += bool(scheduled) and ms(
                    str(scheduled)
                ) < ms(second[0]["startTime"])
                c["...with conversationRoutingData"] += "conversationRoutingData" in second[0]
        if "outboundPreview" in customer[0]:
            c["previews"] += 1
            c["...with externalCampaign true"] += customer[0].get("externalCampaign") is True
        else:
            c["non-previews with externalCampaign true"] += (
                customer[0].get("externalCampaign") is True
            )
        ids = {snaps[0]["id"] for snaps in legs(lc).values()}
        for acd in acds:
            c["queue legs"] += 1
            c["...peer = the customer's participant id"] += acd[0].get("peer") == customer[0]["id"]
            c["...peer = another participant's id"] += (
                acd[0].get("peer") in ids and acd[0].get("peer") != customer[0]["id"]
            )
        seen.update(variants(lc))
    n = c["lifecycles"]
    rows = [
        ("lifecycles / snapshots", f"{n} / {c['snapshots']}"),
        (
            "snapshots breaking a rule (either edition)",
            share(c["snapshots breaking a rule"], c["snapshots"]),
        ),
        (
            "conversations with a scheduled-state snapshot",
            share(c["conversations with a scheduled-state snapshot"], n),
        ),
        (
            "snapshots in state scheduled",
            share(c["snapshots in state scheduled"], c["snapshots"]),
        ),
        (
            "waiting customer/queue snapshots in state scheduled",
            share(c["waiting snapshots in state scheduled"], c["waiting snapshots"]),
        ),
        (
            "...shown scheduled (+ initialState) in notifications",
            share(c["...shown as scheduled by the notification adapter"], c["waiting snapshots"]),
        ),
        (
            "accepted legs with wrapupRequired true",
            share(c["accepted legs with wrapupRequired true"], c["accepted agent legs"]),
        ),
        (
            "...accepted legs without it, by prompt",
            ", ".join(f"{k} {v}" for k, v in required_false.most_common()) or "none",
        ),
        ("wrapupPrompt on agent legs", ", ".join(f"{k} {v}" for k, v in prompts.most_common())),
        (
            "skipped wrap-ups under a prompt other than optional",
            share(c["...of them under a prompt other than optional"], c["skipped wrap-ups"]),
        ),
        (
            "timed-out wrap-ups under optional/mandatory",
            share(
                c["...of them under a prompt without a timeout"], c["wrap-ups forced by timeout"]
            ),
        ),
        (
            "served customers' disconnectType",
            ", ".join(f"{k} {v}" for k, v in customer_ends.most_common()),
        ),
        (
            "IVR callbacks: customer starts with the conversation",
            share(c["...customer startTime = conversation start"], c["IVR callbacks"]),
        ),
        (
            "later queue legs: callbackScheduledTime before own start",
            share(c["...callbackScheduledTime before their own start"], c["later queue legs"]),
        ),
        (
            "later queue legs: with conversationRoutingData",
            share(c["...with conversationRoutingData"], c["later queue legs"]),
        ),
        (
            "previews with externalCampaign true",
            share(c["...with externalCampaign true"], c["previews"]),
        ),
        (
            "non-previews with externalCampaign true",
            str(c["non-previews with externalCampaign true"]),
        ),
        (
            "queue legs: peer = customer participant id",
            share(c["...peer = the customer's participant id"], c["queue legs"]),
        ),
        (
            "queue legs: peer = a participant id at all",
            share(
                c["...peer = the customer's participant id"]
                + c["...peer = another participant's id"],
                c["queue legs"],
            ),
        ),
    ]
    order = [
        "agent-owned",
        "ownership-expired",
        "ownership-requeued",
        "self-scheduled",
        "customer-first",
        "dial-retry",
        "unreachable",
        "answering-machine (hung up on, or sent to a flow)",
        "scheduled-now",
        "rescheduled",
        "auto-dial",
        "given-up",
        "attributes",
        "script",
        "external-purpose",
    ]
    rows += [(f"variant {name}", str(seen[name])) for name in order]
    shape = "a UUID" if UUID.fullmatch(correlation) else "not a UUID"
    rows.append(("notification CorrelationId", f"{correlation} ({shape})"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400, help="lifecycles per edition")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for edition in (Edition.SEED, Edition.SDK_269):
        stream = LifecycleStream(args.seed, edition=edition, start_ms=ANCHOR_MS)
        print(f"== {edition.value}: {args.count} lifecycles, seed {args.seed}")
        for name, value in figures(itertools.islice(stream, args.count)):
            print(f"{name:<58} {value}")


if __name__ == "__main__":
    main()
