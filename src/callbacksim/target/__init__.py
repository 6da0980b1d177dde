"""The reference participant store: the system under test that ships with callbacksim.

It implements the store contract exactly and is what `callbacksim serve`, `run` and `load` start
when no target is given. It imports nothing of the harness (`callbacksim.simulator`): it is a
target like any other, only one whose correctness the test suite proves.
"""

from callbacksim.target.app import make_app
from callbacksim.target.config import DEFAULT_MAX_BODY, MAX_SEQUENCE, SEQUENCE_HEADER, ServerConfig
from callbacksim.target.run import BackgroundServer, RunningServer, serve_forever, start

__all__ = [
    "DEFAULT_MAX_BODY",
    "MAX_SEQUENCE",
    "SEQUENCE_HEADER",
    "BackgroundServer",
    "RunningServer",
    "ServerConfig",
    "make_app",
    "serve_forever",
    "start",
]
