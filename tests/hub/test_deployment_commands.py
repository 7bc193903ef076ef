"""Commands docker-compose.yml runs that `make run` does not: collectstatic (the image build)."""

import os
import subprocess
import sys

from tests.live import ROOT


def test_collectstatic_gathers_the_ui_assets(tmp_path):
    env = dict(os.environ, DJANGO_DEBUG="1")
    code = (
        "import django, sys; from django.conf import settings;"
        f"settings.STATIC_ROOT = {str(tmp_path)!r};"
        "from django.core.management import call_command; django.setup();"
        "call_command('collectstatic', '--noinput', verbosity=0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "frontend" / "hub.css").exists()
    assert (tmp_path / "admin" / "css" / "base.css").exists()
