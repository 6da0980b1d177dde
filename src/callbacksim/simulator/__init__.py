"""Simulation: callback lifecycles (state machine, realism profile, simulator) and, later, the
targets, replay and property checks that use them."""
