"""The locustfile that ships with callbacksim: ``locust -f`` this file (its path is
``callbacksim.load.LOCUSTFILE``), or run ``python -m callbacksim.load``.

Locust loads every user class and the load shape it finds here; they, the options and the event
listeners live in `callbacksim.load.users`, so that loading this file by path and importing the
package never registers anything twice.
"""

from callbacksim.load.users import CallbackConversations, CallbackLoadShape, OpenArrivals

__all__ = ["CallbackConversations", "CallbackLoadShape", "OpenArrivals"]
