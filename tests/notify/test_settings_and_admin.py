"""Email settings come from the environment (console on the embedded default, SMTP when a host is
named, EMAIL_URL), and the admin shows the outbox, the inbound log and the webhook deliveries."""

import json
import os
import subprocess
import sys

import pytest
from django.test import Client

from notify.models import Email, InboundEmail, WebhookDelivery
from notify.webhooks import register_webhook
from tests.live import ROOT

EMAIL_KEYS = ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS",
              "EMAIL_USE_SSL", "DEFAULT_FROM_EMAIL")


def email_settings(env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "EMAIL_", "DEFAULT_FROM"))}
    clean.update({"DJANGO_DEBUG": "1", **env})
    code = f"import json, hub.settings as s; print(json.dumps({{k: getattr(s, k) for k in {EMAIL_KEYS!r}}}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_console_backend_without_a_mail_server():
    s = email_settings({})
    assert s["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert s["DEFAULT_FROM_EMAIL"] == "hub@hub.example"


def test_a_named_host_means_plain_smtp_without_tls_or_auth():
    s = email_settings({"EMAIL_HOST": "mailpit", "EMAIL_PORT": "1025", "DEFAULT_FROM_EMAIL": "Hub <hub@dn.vn>"})
    assert s["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (s["EMAIL_HOST"], s["EMAIL_PORT"], s["EMAIL_USE_TLS"], s["EMAIL_HOST_USER"]) == ("mailpit", 1025, False, "")
    assert s["DEFAULT_FROM_EMAIL"] == "Hub <hub@dn.vn>"


def test_email_url_sets_everything_at_once():
    s = email_settings({"EMAIL_URL": "submission://hub%40dn.vn:p%40ss@smtp.dn.vn"})
    assert (s["EMAIL_HOST"], s["EMAIL_PORT"], s["EMAIL_HOST_USER"], s["EMAIL_HOST_PASSWORD"], s["EMAIL_USE_TLS"]) == (
        "smtp.dn.vn", 587, "hub@dn.vn", "p@ss", True)
    assert email_settings({"EMAIL_URL": "smtps://smtp.dn.vn"})["EMAIL_USE_SSL"] is True


@pytest.mark.django_db
def test_the_admin_lists_emails_inbound_mail_and_webhook_deliveries(cast, settings):
    settings.HUB_WEBHOOK_ALLOW_PRIVATE = True
    cast.admin.is_staff = cast.admin.is_superuser = True
    cast.admin.save()
    Email.objects.create(user=cast.dn_security, type="test", status="failed", attempts=8, last_error="451")
    InboundEmail.objects.create(outcome="refused", reason="forged or damaged token", recipient="hub+r-x@hub.example")
    webhook, _secret = register_webhook(user=cast.dn_manager, url="http://127.0.0.1:9/hook", events=["alert"])
    WebhookDelivery.objects.create(webhook=webhook, event="ping", status="failed", last_error="ConnectionRefused")
    client = Client()
    client.force_login(cast.admin)
    for path in ("/admin/notify/email/", "/admin/notify/inboundemail/", "/admin/notify/webhook/",
                 f"/admin/notify/webhook/{webhook.pk}/change/", "/admin/notify/webhookdelivery/",
                 "/admin/notify/notification/", "/admin/notify/notifysettings/"):
        assert client.get(path).status_code == 200, path
    assert webhook.secret not in client.get(f"/admin/notify/webhook/{webhook.pk}/change/").content.decode()
    # A webhook's "active" is a state (pgettext "state"), not auth's verb "Kích hoạt"; the hub's own
    # "Save", "Delete", "Log out" (hub/locale_overrides/) in the admin too.
    listing = client.get("/admin/notify/webhook/").content.decode()
    assert "Đang hoạt động" in listing and "Kích hoạt" not in listing and "Đăng xuất" in listing
    change = client.get(f"/admin/notify/webhook/{webhook.pk}/change/").content.decode()
    assert 'value="Lưu"' in change and ">Xoá<" in change
    email = Email.objects.get()
    client.post("/admin/notify/email/", {"action": "retry", "_selected_action": [email.pk]})
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("pending", 0)
