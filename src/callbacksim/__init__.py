"""callbacksim: generate, simulate and replay Genesys Cloud callback participants.

The public API, kept light: importing ``callbacksim`` loads the model, the codec and the rules, and
nothing heavier (Hypothesis, Faker and Locust load only from their own subpackages).
"""

from callbacksim.codec import decode, dumps, encode, loads, loads_participant
from callbacksim.errors import CallbacksimError, DecodeError, JsonError, UsageError
from callbacksim.model import (
    CallbackMediaParticipant,
    Direction,
    DisconnectType,
    Edition,
    FlaggedReason,
    State,
    UploadStatus,
)
from callbacksim.rules import RuleSet, Violation, check, rule_ids

__version__ = "0.1.0"

__all__ = [
    "CallbackMediaParticipant",
    "CallbacksimError",
    "DecodeError",
    "Direction",
    "DisconnectType",
    "Edition",
    "FlaggedReason",
    "JsonError",
    "RuleSet",
    "State",
    "UploadStatus",
    "UsageError",
    "Violation",
    "__version__",
    "check",
    "decode",
    "dumps",
    "encode",
    "loads",
    "loads_participant",
    "rule_ids",
]
