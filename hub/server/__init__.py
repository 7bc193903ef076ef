"""The server edge: starting daphne/uvicorn with one set of limits, Django's HTTP path under ASGI,
admission control, graceful shutdown and `/healthz`."""
