"""A reply in a thread I took part in reaches me like a mention (issue 26 §2): in the hub, and by
email through a real SMTP server when I have not seen it."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from chat.services import create_topic, post_message
from notify.delivery import run_mail_jobs
from notify.models import Notification
from tests.notify.conftest import text_part

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 6, 2, 2, 0, tzinfo=UTC)


def test_a_reply_in_my_thread_is_emailed_when_unseen(cast, smtp):
    topic = create_topic(slug="phat-trien-phan-mem", name_vi="Phát triển phần mềm", name_en="Software")
    with time_machine.travel(T0, tick=False) as clock:
        root, _ = post_message(topic, by=cast.dn_engineer, body="Có ai đã tích hợp VNeID?")
        post_message(topic, by=cast.ht_engineer, body="Hà Tĩnh đang làm, sẽ gửi tài liệu", reply_to=root.pk)
        post_message(topic, by=cast.ht_manager, body="Chưa, nhưng quan tâm")  # not in the thread: nobody
        assert list(Notification.objects.values_list("user__username", "verb")) == [("dn.engineer", "reply")]
        clock.move_to(T0 + timedelta(minutes=11))
        run_mail_jobs()
    [mail] = smtp.to("dn.engineer@dn.example.vn")
    body = text_part(mail)
    assert "Hà Tĩnh đang làm" in body and "trả lời trong một luồng" in body


def test_an_email_about_a_conversation_keeps_its_text_out_of_the_admin(cast, smtp):
    from django.test import Client

    from chat.services import start_conversation
    from notify.models import Email

    admin = cast.admin
    admin.is_staff = admin.is_superuser = True
    admin.save()
    with time_machine.travel(T0, tick=False) as clock:
        topic, _ = start_conversation(by=cast.ht_engineer, members=["dn.engineer"])
        post_message(topic, by=cast.ht_engineer, body="@dn.engineer chuyện riêng giữa hai người")
        clock.move_to(T0 + timedelta(minutes=11))
        run_mail_jobs()
    [mail] = smtp.to("dn.engineer@dn.example.vn")
    assert "chuyện riêng" in text_part(mail)  # the member gets it
    email = Email.objects.get(to_address="dn.engineer@dn.example.vn")
    client = Client()
    client.force_login(admin)
    page = client.get(f"/admin/notify/email/{email.pk}/change/")
    assert page.status_code == 200 and "chuyện riêng" not in page.content.decode()
