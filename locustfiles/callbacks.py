"""Callback conversations replayed against a participant store, by Locust, from a checkout.

This file only names what callbacksim ships (`callbacksim.load.users`): the closed model's user,
the open model's scheduler and the load shape, with their options (``--callbacksim-*``, or
``CALLBACKSIM_*`` environment variables). After ``pip install callbacksim`` the same runs as
``python -m callbacksim.load``, or ``callbacksim load`` (which also starts workers and a target,
and judges thresholds).

One machine::

    locust -f locustfiles --host http://127.0.0.1:8080 --headless -u 50 -r 10 -t 2m

Locust's distributed mode (one master, any number of workers)::

    locust -f locustfiles --master --headless -u 500 -t 5m --expect-workers 4 --host URL
    locust -f locustfiles --worker --master-host MASTER      # on each worker machine
"""

from callbacksim.load.users import CallbackConversations, CallbackLoadShape, OpenArrivals

__all__ = ["CallbackConversations", "CallbackLoadShape", "OpenArrivals"]
