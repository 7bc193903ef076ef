"""Settings for plain `pytest`: the hub's own settings, in DEBUG unless the caller says otherwise.

Nothing is overridden here; every value still comes from hub/settings.py and the environment (two
defaults are set in the environment when the caller gave none)."""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")
# Redis pub/sub ignores the db number: without a prefix of its own, a plain `pytest` run would hear
# another run's frames on the shared "hub" channels (tests/run.py sets the same default for `make test`).
# Servers the tests start inherit it through the environment.
os.environ.setdefault("HUB_CHANNEL_PREFIX", f"hubtest{os.getpid()}")

from hub.settings import *  # noqa: E402,F403
