"""An inbound reply with a control character in a header or an attachment's name (an encoded word
can carry NUL) is logged and handled like any other, never answered with an SMTP 500 (which sent the
exception's text back to the sender and lost the log row of a comment already made): notify/inbound.py
replaces what no text column takes (`hub.lib.text.storable`) in headers and file names, the comment
and its `InboundEmail` row are written together, and run_mail_server answers a fault of its own with
a 451 (try again later) and logs it."""

import smtplib

import pytest

from notify.management.commands.run_mail_server import start_server
from notify.models import InboundEmail
from notify.tokens import reply_address
from requests.models import Attachment, Comment
from requests.services import create_ticket
from tests.live import free_port

pytestmark = pytest.mark.django_db(transaction=True)

SENDER = "ht.engineer@ht.example.vn"
PLAIN = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"


@pytest.fixture
def ticket(make_user):
    engineer = make_user("ht.engineer", centre="HT", email=SENDER)
    make_user("dn.engineer", centre="DN")
    return create_ticket(by=engineer, title="Rà soát cổng dịch vụ công", category="security", target_centre="DN")


@pytest.fixture
def mail_server():
    port = free_port()
    controller = start_server("127.0.0.1", port)
    yield port
    controller.stop()


def reply(to: str, subject: bytes, attachment_header: bytes | None = None) -> bytes:
    head = (b"From: " + SENDER.encode() + b"\r\nTo: " + to.encode() + b"\r\nSubject: " + subject
            + b"\r\nMIME-Version: 1.0\r\n")
    text = "Em đã kiểm tra, không thấy dấu hiệu xâm nhập.".encode()
    if attachment_header is None:
        return head + PLAIN + text + b"\r\n"
    return (head + b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n" + PLAIN + text + b"\r\n--XX\r\n"
            + attachment_header + b"\r\nContent-Transfer-Encoding: base64\r\n\r\nbmjhuq10IGvDvQo=\r\n--XX--\r\n")


def send(port: int, to: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(SENDER, [to], raw)  # raises SMTPDataError on a 4xx or 5xx answer


def test_a_subject_with_a_nul_becomes_the_comment_and_is_logged_with_the_nul_replaced(ticket, mail_server):
    address = reply_address(ticket_id=ticket.pk, user_id=ticket.requested_by_id)
    send(mail_server, address, reply(address, b"=?utf-8?b?UmU6IAB5w6p1IGPhuqd1?="))  # "Re: \x00yêu cầu"
    record = InboundEmail.objects.get()
    comment = Comment.objects.get(ticket=ticket)
    assert (record.ticket_id, record.outcome, record.comment_id) == (ticket.pk, "commented", comment.pk)
    assert record.subject == "Re: \ufffdyêu cầu"


def test_an_attachment_named_with_a_nul_is_kept_with_the_comment_and_its_log_row(ticket, mail_server):
    address = reply_address(ticket_id=ticket.pk, user_id=ticket.requested_by_id)
    header = b"Content-Type: text/plain\r\nContent-Disposition: attachment; filename*=utf-8''nhat%00ky.txt"
    send(mail_server, address, reply(address, b"Re: yeu cau", header))
    comment = Comment.objects.get(ticket=ticket)
    record = InboundEmail.objects.get()
    assert (record.outcome, record.comment_id, record.reason) == ("commented", comment.pk, "")
    assert list(Attachment.objects.filter(comment=comment).values_list("original_name", flat=True)) == [
        "nhat\ufffdky.txt"]
