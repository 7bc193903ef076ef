"""A worker process for tests/hub/test_jobs.py: the real `hub.jobs.Runner` with one test job that
appends "<holder> <claimed at>" to a file for every run it is given. Started twice against one
PostgreSQL database, it shows each period's run happening in exactly one of them."""

import os
import sys
import threading

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
django.setup()

from hub import jobs  # noqa: E402

out_path, every, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
holder = f"worker-{os.getpid()}"


def record(now):
    with open(out_path, "a") as out:
        out.write(f"{holder} {now.timestamp():.6f}\n")


jobs.register("tests.record", record, every=every)
runner = jobs.Runner(tick=0.02, holder=holder)
threading.Timer(seconds, runner.stopping.set).start()
print("ready", flush=True)
while not runner.stopping.is_set():
    jobs.run_due(holder=holder, only=["tests.record"])
    runner.stopping.wait(runner.tick)
