"""Load: simulated callback conversations replayed against a participant store, by Locust.

Each Locust user replays whole lifecycles, one after another, as `callbacksim replay` does: every
snapshot of every participant, in order, with ``X-Sequence``. Each user draws its lifecycles from
its own seeded stream (the run's seed, the worker's index and the user's number), so users never
share a conversation and a run is reproducible. Requests are named by the participant's purpose
and state (``agent:connected``), so Locust's statistics show which steps of a callback are
slow. A stale-sequence answer (409) counts as a success: with several deliveries in flight, the
store rightly keeps the newest.

One machine::

    locust -f locustfiles --host http://127.0.0.1:8080 --headless -u 50 -r 10 -t 2m

Locust's distributed mode, when one machine is not enough (one master, any number of workers)::

    locust -f locustfiles --master --headless -u 500 -r 50 -t 5m --expect-workers 4 \\
        --host http://127.0.0.1:8080
    locust -f locustfiles --worker --master-host 127.0.0.1      # on each worker machine

Options: ``--callbacksim-seed`` (default 0), ``--callbacksim-edition`` (seed or sdk-269),
``--callbacksim-time-factor`` (play each conversation on its own timeline scaled by F; default 0,
as fast as possible).

This directory is the only place that imports Locust (importing it patches the standard library
for gevent).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from locust import events, task
from locust.contrib.fasthttp import FastHttpUser

from callbacksim.generation.lifecycle import LifecycleStream
from callbacksim.generation.participants import ANCHOR_MS
from callbacksim.model import Edition
from callbacksim.simulator.adapters import Delivery, StoreAdapter

_USER_NUMBERS = itertools.count()


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument(
        "--callbacksim-seed",
        type=int,
        default=0,
        env_var="CALLBACKSIM_SEED",
        help="seed of the simulated lifecycles (default 0)",
    )
    parser.add_argument(
        "--callbacksim-edition",
        choices=[e.value for e in Edition],
        default=Edition.SEED.value,
        help="model edition of the lifecycles",
    )
    parser.add_argument(
        "--callbacksim-time-factor",
        type=float,
        default=0.0,
        help="play each conversation on its own timeline scaled by F (0: as fast as possible)",
    )


class CallbackConversations(FastHttpUser):
    """A source of callback conversations: each task replays one whole lifecycle."""

    def on_start(self) -> None:
        options = self.environment.parsed_options
        worker = getattr(self.environment.runner, "worker_index", 0) or 0
        number = next(_USER_NUMBERS)
        seed = (options.callbacksim_seed * 1_000_003 + worker) * 1_000_003 + number
        self.lifecycles = LifecycleStream(
            seed,
            edition=Edition(options.callbacksim_edition),
            start_ms=ANCHOR_MS,
        )
        self.time_factor = float(options.callbacksim_time_factor)
        self.adapter = StoreAdapter()

    @task
    def replay_a_conversation(self) -> None:
        lifecycle = next(self.lifecycles)
        started, first = time.monotonic(), lifecycle.events[0].time_ms
        for event in lifecycle.events:
            if self.time_factor:
                due = started + (event.time_ms - first) / 1000 * self.time_factor
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            request = self.adapter.request(Delivery(event.to_wire(), (), ""))
            name = f"{event.participant['purpose']}:{event.participant['state']}"
            with self.client.request(
                request.method,
                request.path,
                data=request.body,
                headers=dict(request.headers),
                name=name,
                catch_response=True,
            ) as response:
                if response.status_code == 409:
                    response.success()
