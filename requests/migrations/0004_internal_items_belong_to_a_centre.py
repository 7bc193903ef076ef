"""Internal comments, attachments and history events belong to the centre they were written for — the
ticket's target centre at that moment — for ever (issue 20, class 3).

Existing internal rows are given that centre from the ticket's own history: its `created` event names
the first target, each `target_centre` field event the next (a redirect while new, or a centre
accepting a request made to any centre). A row written when the history names no target (a hub
admin's note on a ticket still open to any centre) keeps none: then only hub admins read it, as
before. Before this, internal rows followed the ticket's *current* target, so a redirect showed them
to the new target centre."""

import django.db.models.deletion
from django.db import migrations, models

from hub.lib.migration_ops import append_only

# The history table is append-only in the database (0003): its rows get their centre once, here, with
# its guard lifted for the backfill and put back at once (append_only's own two halves, swapped).
_GUARD = append_only("support_requests_ticketevent")


def target_timeline(TicketEvent, ticket_id):
    """[(when, centre code or None)] of the ticket's target centre, in order."""
    timeline = []
    for kind, field, after, at in (TicketEvent.objects.filter(ticket_id=ticket_id, kind__in=["created", "field"])
                                   .order_by("created_at", "id").values_list("kind", "field", "after", "created_at")):
        if kind == "created" and isinstance(after, dict):
            timeline.append((at, after.get("target_centre")))
        elif kind == "field" and field == "target_centre":
            timeline.append((at, after))
    return timeline


def target_at(timeline, when):
    code = None
    for at, target in timeline:
        if at > when:
            break
        code = target
    return code


def backfill(apps, schema_editor):
    Centre = apps.get_model("hub", "Centre")
    TicketEvent = apps.get_model("support_requests", "TicketEvent")
    models_ = [apps.get_model("support_requests", name) for name in ("Comment", "Attachment", "TicketEvent")]
    centres = dict(Centre.objects.values_list("code", "pk"))
    tickets = set()
    for model in models_:
        tickets.update(model.objects.filter(internal=True, internal_to__isnull=True).values_list("ticket_id", flat=True))
    for ticket_id in tickets:
        timeline = target_timeline(TicketEvent, ticket_id)
        for model in models_:
            for row in model.objects.filter(ticket_id=ticket_id, internal=True, internal_to__isnull=True):
                code = target_at(timeline, row.created_at)
                if code in centres:
                    model.objects.filter(pk=row.pk).update(internal_to_id=centres[code])


class Migration(migrations.Migration):

    dependencies = [
        ('hub', '0001_initial'),
        ('support_requests', '0003_tlp_scope_append_only'),
    ]

    operations = [
        migrations.AddField(
            model_name='attachment',
            name='internal_to',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='hub.centre', verbose_name='internal to'),
        ),
        migrations.AddField(
            model_name='comment',
            name='internal_to',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='hub.centre', verbose_name='internal to'),
        ),
        migrations.AddField(
            model_name='ticketevent',
            name='internal_to',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='hub.centre', verbose_name='internal to'),
        ),
        migrations.RunPython(_GUARD.reverse_code, _GUARD.code),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        append_only("support_requests_ticketevent"),
    ]
