"""hub.lib.inserts: a new row's columns and values as Django's own INSERT has them (issue 27)."""

import pytest
from django.apps import apps
from django.db.models import F

from hub.lib import inserts


def test_the_columns_are_the_ones_djangos_insert_writes_for_every_model():
    """The fields a new row writes, from the documented `_meta` API, are Django's own insert's (its
    concrete local fields but the automatic primary key), for every model of every installed app."""
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        expected = [f.name for f in meta.local_concrete_fields if f is not meta.auto_field]
        assert [f.name for f in inserts._columns(model, "default")[0]] == expected, model


@pytest.mark.django_db
def test_a_value_that_is_an_expression_is_refused():
    from alerts.models import AlertEvent

    with pytest.raises(ValueError, match="expression"):
        inserts.row(AlertEvent(kind="note", at=F("at")), signal=False)
