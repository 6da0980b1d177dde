"""Locust's view of a callbacksim load run: options, user classes, the load shape, and the wiring
of Locust's events and messages to the worker and master sides.

Importing this module registers callbacksim's options with Locust's parser (each also read from an
environment variable, ``CALLBACKSIM_SEED`` and so on) and its event listeners; a locustfile only
imports the classes (`callbacksim/load/locustfile.py`, `locustfiles/callbacks.py`):

- `CallbackConversations`: the closed model's user, playing one conversation after another;
- `OpenArrivals`: the open model's scheduler, one per worker;
- `CallbackLoadShape`: the users over time, and the end of the run (it reads Locust's ``-u``,
  ``-r`` and ``-t`` too, so ``locust -f ... -u 50 -r 10 -t 2m`` works as usual).

Messages between master and workers: the master tells each worker its slot when the run
starts (``callbacksim:plan``) and that the run is ending (``callbacksim:finish``); workers send
their counts every few seconds and at the end (``callbacksim:report``).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import gevent
from locust import LoadTestShape, User, constant, events, task
from locust.runners import LocalRunner, MasterRunner, WorkerRunner

from callbacksim.errors import UsageError
from callbacksim.load.master import MasterSide
from callbacksim.load.plan import OPTIONS, LoadSettings, Model
from callbacksim.load.thresholds import parse_thresholds
from callbacksim.load.worker import WorkerSide

__all__ = ["CallbackConversations", "CallbackLoadShape", "OpenArrivals"]

log = logging.getLogger("callbacksim.load")

PLAN = "callbacksim:plan"
FINISH = "callbacksim:finish"
REPORT = "callbacksim:report"

DEFAULT_STOP_TIMEOUT_S = 60.0
"""When users are ramped down, each finishes the conversation it is playing (up to this long),
so that a run of ``--lifecycles`` plays whole conversations only."""


class _Process:
    """This process's part of the current run (Locust runs one at a time per process)."""

    master: MasterSide | None = None
    worker: WorkerSide | None = None
    plan: tuple[int, int] | None = None


_here = _Process()


# -- options ------------------------------------------------------------------------------------


def _options(parser: Any) -> None:
    group = parser.add_argument_group("callbacksim", "Callback conversations (callbacksim load)")
    for option in OPTIONS:
        kwargs: dict[str, Any] = {
            "env_var": option.env,
            "help": option.help,
            "default": option.default,
        }
        if option.append:
            kwargs["action"] = "append"
        else:
            kwargs["type"] = option.type
        if option.choices is not None:
            kwargs["choices"] = list(option.choices)
        group.add_argument(option.flag, **kwargs)


def _settings(environment: Any) -> LoadSettings:
    return LoadSettings.from_options(environment.parsed_options)


# -- users --------------------------------------------------------------------------------------


class CallbackConversations(User):
    """Closed model: plays whole conversations, one after another, as fast as the target answers
    (or on their own timeline with ``--callbacksim-time-factor``)."""

    wait_time = constant(0)

    def on_start(self) -> None:
        side = _here.worker
        self._client = side.target.client(1) if side is not None else None

    def on_stop(self) -> None:
        if self._client is not None:
            self._client.close()

    @task
    def play_a_conversation(self) -> None:
        side = _here.worker
        n = side.take() if side is not None and self._client is not None else None
        if side is None or n is None or self._client is None:
            gevent.sleep(0.25)  # nothing left to play in this run: wait to be stopped
            return
        steps = side.prepare(n)
        side.begin()
        side.play(self._client, steps)


class OpenArrivals(User):
    """Open model: starts this worker's share of new conversations as a Poisson process."""

    wait_time = constant(0)

    @task
    def arrivals(self) -> None:
        side = _here.worker
        if side is None or side.scheduler_claimed:
            gevent.sleep(0.25)
            return
        side.scheduler_claimed = True
        side.schedule()


class CallbackLoadShape(LoadTestShape):
    """The users over time, from callbacksim's settings (or Locust's ``-u``, ``-r`` and ``-t``),
    and the end of the run."""

    use_common_options = True

    def tick(self) -> tuple[int, float, list[type[User]]] | None:
        master = _here.master
        if master is None:
            return None
        run_time: float = self.get_run_time()  # type: ignore[no-untyped-call]
        reason = master.over(run_time)
        if reason is not None:
            _finish(self.runner, master, reason)
            return None
        users, rate = master.users(run_time, _workers(self.runner))
        chosen = OpenArrivals if master.settings.model is Model.OPEN else CallbackConversations
        return users, rate, [chosen]


def _workers(runner: Any) -> int:
    return int(runner.worker_count) if isinstance(runner, MasterRunner) else 1


def _finish(runner: Any, master: MasterSide, reason: str) -> None:
    """Stop the workers (cutting what is in flight), await their final reports, write results."""
    master.ended = master.ended or time.perf_counter()
    runner.send_message(FINISH, {"reason": reason})
    runner.stop()
    master.wait_for_finals()
    master.finish(reason)
    runner.environment.process_exit_code = master.exit_code


# -- wiring -------------------------------------------------------------------------------------


def _init(environment: Any, **_kwargs: Any) -> None:
    runner = environment.runner
    if runner is None:
        return
    if isinstance(runner, MasterRunner | LocalRunner):
        try:
            settings = _settings(environment)
            options = environment.parsed_options
            thresholds = parse_thresholds(
                [options.callbacksim_fail_on] if options.callbacksim_fail_on else [],
                open_model=settings.model is Model.OPEN,
            )
        except UsageError as exc:
            sys.stderr.write(f"callbacksim: error: {exc}\n")
            sys.exit(2)
        _here.master = MasterSide(
            settings,
            thresholds=thresholds,
            results=options.callbacksim_results,
            status=options.callbacksim_status,
        )
        if not environment.stop_timeout:
            environment.stop_timeout = DEFAULT_STOP_TIMEOUT_S
        runner.register_message(REPORT, _on_report)
    if isinstance(runner, WorkerRunner | LocalRunner):
        runner.register_message(FINISH, _on_finish)
    if isinstance(runner, WorkerRunner):
        runner.register_message(PLAN, _on_plan)


def _on_report(environment: Any, msg: Any, **_kwargs: Any) -> None:
    if _here.master is not None:
        _here.master.on_report(msg.data)


def _on_plan(environment: Any, msg: Any, **_kwargs: Any) -> None:
    _here.plan = (int(msg.data["slot"]), int(msg.data["slots"]))


def _on_finish(environment: Any, msg: Any, **_kwargs: Any) -> None:
    side = _here.worker
    environment.stop_timeout = 0  # cut what is in flight now
    if side is not None:
        side.finishing = True


def _test_start(environment: Any, **_kwargs: Any) -> None:
    runner: Any = environment.runner
    master = _here.master
    if isinstance(runner, MasterRunner) and master is not None:
        workers = sorted(
            runner.clients.ready + runner.clients.running + runner.clients.spawning,
            key=lambda node: int(runner.get_worker_index(node.id)),  # type: ignore[no-untyped-call]
        )
        for slot, node in enumerate(workers):
            runner.send_message(PLAN, {"slot": slot, "slots": len(workers)}, client_id=node.id)
        master.begin(len(workers), environment.host or "")
        log.info("callbacksim: %d worker slot(s)", len(workers))
        return
    if isinstance(runner, LocalRunner) and master is not None:
        master.begin(1, environment.host or "")
        _here.plan = (0, 1)
    if isinstance(runner, WorkerRunner | LocalRunner):
        _start_worker(environment)


def _start_worker(environment: Any) -> None:
    if _here.plan is None:
        log.warning("callbacksim: this worker joined after the run started; it sends nothing")
        return
    slot, slots = _here.plan
    if not environment.host:
        sys.stderr.write("callbacksim: error: no target; give --host URL\n")
        sys.exit(2)
    runner = environment.runner
    _here.worker = WorkerSide(
        _settings(environment),
        host=environment.host,
        slot=slot,
        slots=slots,
        request_event=environment.events.request,
        send_report=lambda data: runner.send_message(REPORT, data),
    )


def _test_stop(environment: Any, **_kwargs: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner | LocalRunner) and _here.worker is not None:
        _here.worker.stop()
        _here.worker = None
        _here.plan = None if isinstance(runner, WorkerRunner) else _here.plan


def _quitting(environment: Any, **_kwargs: Any) -> None:
    master = _here.master
    if master is not None and master.result is None and master.started is not None:
        # Stopped some other way (Ctrl+C, SIGTERM, the web UI): report what there is.
        if _here.worker is not None:
            _here.worker.stop()
        master.finish("stopped")
        environment.process_exit_code = master.exit_code


_events: Any = events
_events.init_command_line_parser.add_listener(_options)
_events.init.add_listener(_init)
_events.test_start.add_listener(_test_start)
_events.test_stop.add_listener(_test_stop)
_events.quitting.add_listener(_quitting)
