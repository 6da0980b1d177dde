"""Registered under the ``hypothesis`` entry-point group: Hypothesis calls `_register` at start-up,
so that ``st.from_type(CallbackMediaParticipant)`` draws valid participants.

Hypothesis runs this hook while ``import hypothesis`` is still in progress, possibly from inside an
import of ``callbacksim.strategies`` itself; so nothing from that package is imported here until
the strategy is first used (`st.deferred`).
"""

from __future__ import annotations


def _register() -> None:
    from hypothesis import strategies as st

    from callbacksim.model import CallbackMediaParticipant

    def build() -> st.SearchStrategy[CallbackMediaParticipant]:
        from callbacksim.strategies import participants

        return participants()

    st.register_type_strategy(CallbackMediaParticipant, st.deferred(build))
