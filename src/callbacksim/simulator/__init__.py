"""The simulator: everything that talks to a target.

The HTTP client (and waiting for a target), the adapters that shape an event for a target,
delivery faults, retries, the ledger, replay, convergence and the property checks. This module is
the facade: import from here. The property checks load Hypothesis, so they are imported only when
asked for (``callbacksim.simulator.checks``); everything re-exported here loads without it.
"""

from callbacksim.simulator.adapters import ADAPTERS, Adapter, Delivery, load_adapter
from callbacksim.simulator.client import HttpClient, Request, Response, require_reachable
from callbacksim.simulator.convergence import ConversationVerdict, Problem, verify_conversation
from callbacksim.simulator.faults import Faults, plan_deliveries
from callbacksim.simulator.ledger import Ledger, LedgerState, read_ledger
from callbacksim.simulator.properties import PROPERTIES, Failure, Outcome, Property, Status
from callbacksim.simulator.replay import ReplayConfig, ReplayResult, Stop, replay
from callbacksim.simulator.retry import RetryPolicy, Sent, send_with_retries

__all__ = [
    "ADAPTERS",
    "PROPERTIES",
    "Adapter",
    "ConversationVerdict",
    "Delivery",
    "Failure",
    "Faults",
    "HttpClient",
    "Ledger",
    "LedgerState",
    "Outcome",
    "Problem",
    "Property",
    "ReplayConfig",
    "ReplayResult",
    "Request",
    "Response",
    "RetryPolicy",
    "Sent",
    "Status",
    "Stop",
    "load_adapter",
    "plan_deliveries",
    "read_ledger",
    "replay",
    "require_reachable",
    "send_with_retries",
    "verify_conversation",
]
