"""The simulator: everything that talks to a target.

The HTTP client, the adapters that shape an event for a target, delivery faults, the ledger,
replay, convergence and the property checks. This module is the facade: import from here.
The property checks load Hypothesis, so they are imported only when asked for
(``callbacksim.simulator.checks``); everything re-exported here loads without it.
"""

from callbacksim.simulator.adapters import ADAPTERS, Adapter, Delivery, load_adapter
from callbacksim.simulator.client import HttpClient, Request, Response
from callbacksim.simulator.convergence import ConversationVerdict, Problem, verify_conversation
from callbacksim.simulator.faults import Faults, plan_deliveries
from callbacksim.simulator.ledger import Ledger, read_ledger
from callbacksim.simulator.properties import PROPERTIES, Failure, Outcome, Property, Status
from callbacksim.simulator.replay import ReplayConfig, ReplayResult, replay

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
    "Outcome",
    "Problem",
    "Property",
    "ReplayConfig",
    "ReplayResult",
    "Request",
    "Response",
    "Status",
    "load_adapter",
    "plan_deliveries",
    "read_ledger",
    "replay",
    "verify_conversation",
]
