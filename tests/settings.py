"""Settings for plain `pytest`: the hub's own settings, in DEBUG unless the caller says otherwise.

Nothing is overridden here; every value still comes from hub/settings.py and the environment."""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from hub.settings import *  # noqa: E402,F403
