"""How Django runs the HTTP middleware chain under ASGI (hub.middleware.OneThreadPerRequest)."""

from asgiref.sync import SyncToAsync
from django.core.handlers.asgi import ASGIHandler


def test_the_middleware_chain_is_entered_once_per_request_in_one_thread(settings):
    """Adapted once at the top (one hop into the request's thread), not once per middleware method:
    with every middleware async-capable, each process_request/response hopped on its own, and the
    ticket list served 87 instead of 120 requests/s at concurrency 16 (docs/benchmarks.md)."""
    assert settings.MIDDLEWARE[-1] == "hub.middleware.OneThreadPerRequest"
    assert isinstance(ASGIHandler()._middleware_chain, SyncToAsync)


def test_without_it_django_would_hop_per_middleware(settings):
    settings.MIDDLEWARE = settings.MIDDLEWARE[:-1]
    assert not isinstance(ASGIHandler()._middleware_chain, SyncToAsync)
