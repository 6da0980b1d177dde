"""Load runs on Locust: callback conversations as Locust users, on one machine or many.

Importing this package loads no Locust (which patches the standard library for gevent): only the
modules Locust runs import it (`users`, `worker`, `master`, `locustfile`, ``__main__``). Everything
else here is plain Python, used by ``callbacksim load`` and by those modules alike: the settings
and stages (`plan`), the counts and results (`results`), the thresholds (`thresholds`).

Running Locust on the packaged locustfile, after ``pip install callbacksim``::

    python -m callbacksim.load --host http://127.0.0.1:8080 --headless -u 50 -t 2m
    locust -f "$(python -c 'import callbacksim.load as l; print(l.LOCUSTFILE)')" --host URL ...
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["LOCUSTFILE"]

LOCUSTFILE = str(Path(__file__).with_name("locustfile.py"))
"""The path of the locustfile that ships with callbacksim, for ``locust -f``."""
