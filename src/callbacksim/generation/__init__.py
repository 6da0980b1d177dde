"""Generation logic, written once against the `Chooser` interface.

No Hypothesis here: `callbacksim.strategies` drives this logic with Hypothesis (shrinking), and the
bulk writers drive it with a seeded `RandomChooser` (speed).
"""
