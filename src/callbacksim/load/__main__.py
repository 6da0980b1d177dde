"""``python -m callbacksim.load [LOCUST OPTIONS]``: Locust on the packaged locustfile.

Every Locust option works (``--headless``, ``-u``, ``-t``, ``--master``, ``--worker``,
``--processes``, ``--csv``, ``--html`` ...), and so do callbacksim's own ``--callbacksim-*``
options (`callbacksim.load.plan.OPTIONS`; Locust's ``--help`` is printed before any locustfile
is read, so it does not list them). ``-f`` is added unless given.
"""

from __future__ import annotations

import sys

from locust.main import main as locust_main

from callbacksim.load import LOCUSTFILE


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not any(a in ("-f", "--locustfile") or a.startswith("--locustfile=") for a in args):
        args = ["-f", LOCUSTFILE, *args]
    sys.argv = ["locust", *args]
    locust_main()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
