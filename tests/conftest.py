"""Test-suite settings shared by every module."""

from __future__ import annotations

from hypothesis import settings

# The suite runs on a shared two-core machine next to servers it starts itself: a slow moment is
# not a bug, so no per-example deadline. Everything else (health checks included) stays default.
settings.register_profile("callbacksim-tests", deadline=None)
settings.load_profile("callbacksim-tests")
