"""The one error contract (hub/errors.py): a code maps to one HTTP status and one frame code, and the
message is rendered in the caller's language at the edge, not where it was raised."""

import pytest
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from hub import errors
from hub.errors import HubError


def test_each_code_has_one_status_and_one_frame_code():
    assert errors.http_status_of(errors.CONFLICT) == 409
    assert errors.kind_of(errors.RATE_LIMITED).ws_code == "rate_limited"
    assert errors.kind_of(errors.NOT_FOUND).ws_code == "invalid"


def test_an_unknown_code_is_a_programming_error():
    with pytest.raises(ValueError):
        HubError("no_such_code", "x")


def test_an_app_defines_its_own_code_once():
    code = errors.define("test_already_done", http_status=409)
    assert errors.http_status_of(code) == 409
    assert errors.define("test_already_done", http_status=409) == code
    with pytest.raises(ValueError):
        errors.define("test_already_done", http_status=400)


def test_the_message_is_rendered_in_the_language_active_at_the_edge():
    exc = HubError(errors.FORBIDDEN, _("You may not see this topic."))
    with translation.override("en"):
        english = exc.render()
    with translation.override("vi"):
        vietnamese = exc.render()
    assert english == "You may not see this topic."
    assert vietnamese == "Bạn không có quyền xem chủ đề này."


def test_params_fill_the_placeholders():
    exc = HubError(errors.INVALID, _("kind must be one of %(kinds)s."), kinds="a, b", fields=["kind"])
    with translation.override("en"):
        assert exc.render() == "kind must be one of a, b."
    assert exc.fields == ["kind"] and exc.http_status == 400
