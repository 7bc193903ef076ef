"""Files and images in chat, in real browsers against a real hub (daphne + Redis + PostgreSQL):
attached by the button, dropped on the topic page, pasted into the message box; an image shows as a
thumbnail live on the other centre's screen and opens full size; a refused type is said next to the
composer in the person's language, keeping the text and the file."""

from __future__ import annotations

import base64
import io
import re

import pytest
from playwright.sync_api import expect

from tests.frontend.conftest import screenshot
from tests.frontend.test_chat import two_centres  # noqa: F401  (the fixture: Lan of HT, Minh of DN, live)

pytestmark = [pytest.mark.services, pytest.mark.browser]

TOPIC_URL = "/topics/phat-trien-phan-mem/"


def png_bytes(width: int = 900, height: int = 600) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def hub_extra_env(tmp_path):
    return {"HUB_MEDIA_ROOT": str(tmp_path / "media")}


# A File made in the page from bytes, inside a DataTransfer: what a drop or a paste carries.
MAKE_TRANSFER = """([b64, name, type]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, {type}));
  return transfer;
}"""


def test_an_image_attached_by_the_button_shows_live_as_a_thumbnail_and_opens_full_size(two_centres):  # noqa: F811
    lan, minh = two_centres
    with lan.page.expect_file_chooser() as chooser:
        lan.page.click("#attach-files")
    chooser.value.set_files({"name": "so-do-mang.png", "mimeType": "image/png", "buffer": png_bytes()})
    tray = lan.page.locator("#composer-files")
    expect(tray.locator("li")).to_have_count(1)
    expect(tray).to_contain_text("so-do-mang.png")
    expect(tray.locator("img.file-preview")).to_have_count(1)  # a preview before sending
    lan.page.locator("#composer-input").fill("Sơ đồ mạng sau sự cố")
    lan.page.locator("#composer-input").press("Enter")
    # Live on the other centre's screen: the text and the thumbnail, loaded through the download rule.
    message = minh.page.locator("#messages li.msg").last
    expect(message.locator(".msg-body")).to_have_text("Sơ đồ mạng sau sự cố")
    thumb = message.locator(".msg-files img")
    expect(thumb).to_have_attribute("alt", "so-do-mang.png")
    minh.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert thumb.evaluate("img => img.naturalWidth") == 480  # the thumbnail, not the 900 px original
    expect(lan.page.locator("#composer-files li")).to_have_count(0)
    expect(lan.page.locator("#messages li.msg .msg-files img")).to_have_count(1)
    screenshot(minh.page, "chat-image")
    with minh.context.expect_page() as opened:
        thumb.click()
    full = opened.value
    full.wait_for_load_state()
    assert "/api/v1/topics/phat-trien-phan-mem/files/" in full.url and not full.url.endswith("/thumbnail")
    # What that tab was given (read again through the same session: scripts cannot run in a sandboxed file).
    answer = minh.page.request.get(full.url)
    assert answer.status == 200 and answer.headers["content-type"] == "image/png"
    from PIL import Image

    assert Image.open(io.BytesIO(answer.body())).size == (900, 600)
    full.close()


def test_a_log_dropped_on_the_page_is_sent_as_text_and_offered_for_download(two_centres):  # noqa: F811
    lan, minh = two_centres
    payload = base64.b64encode(b"2026-12-06 09:14 10.0.0.5 port scan\n").decode()
    transfer = lan.page.evaluate_handle(MAKE_TRANSFER, [payload, "ids-alert.log", ""])
    for kind in ("dragenter", "dragover"):
        lan.page.dispatch_event("#chat", kind, {"dataTransfer": transfer})
    expect(lan.page.locator("#chat")).to_have_class(re.compile(r"\bdrop-target\b"))  # the page shows where to drop
    lan.page.dispatch_event("#chat", "drop", {"dataTransfer": transfer})
    expect(lan.page.locator("#composer-files")).to_contain_text("ids-alert.log")
    lan.page.click("#send")
    link = minh.page.locator("#messages li.msg .msg-files a.msg-download")
    expect(link).to_have_text("ids-alert.log")
    href = link.get_attribute("href")
    answer = minh.page.request.get(href)
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/plain")
    assert answer.body() == b"2026-12-06 09:14 10.0.0.5 port scan\n"
    assert "attachment" in answer.headers["content-disposition"]


def test_a_pasted_screenshot_is_sent_with_the_text(two_centres):  # noqa: F811
    lan, minh = two_centres
    payload = base64.b64encode(png_bytes(300, 200)).decode()
    lan.page.locator("#composer-input").fill("Ảnh chụp màn hình")
    lan.page.evaluate("""([b64]) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], "image.png", {type: "image/png"}));
      const box = document.getElementById("composer-input");
      box.dispatchEvent(new ClipboardEvent("paste", {clipboardData: transfer, bubbles: true, cancelable: true}));
    }""", [payload])
    preview = lan.page.locator("#composer-files img.file-preview")
    expect(preview).to_have_count(1)
    lan.page.wait_for_function("img => img.complete && img.naturalWidth === 300", arg=preview.element_handle())
    assert lan.page.locator("#composer-input").input_value() == "Ảnh chụp màn hình"  # the text is untouched
    lan.page.locator("#composer-input").press("Enter")
    message = minh.page.locator("#messages li.msg").last
    expect(message.locator(".msg-body")).to_have_text("Ảnh chụp màn hình")
    thumb = message.locator(".msg-files img")
    minh.page.wait_for_function("img => img.complete && img.naturalWidth === 300", arg=thumb.element_handle())


def test_a_refused_file_is_explained_next_to_the_composer_and_kept(two_centres):  # noqa: F811
    lan, _minh = two_centres
    lan.page.set_input_files("#file-input", {"name": "cai-dat.exe", "mimeType": "application/octet-stream",
                                             "buffer": b"MZ\x90\x00"})
    lan.page.locator("#composer-input").fill("bộ cài")
    lan.page.click("#send")
    error = lan.page.locator("#composer-error")
    expect(error).to_contain_text("không chấp nhận")
    expect(lan.page.locator("#composer-files")).to_contain_text("cai-dat.exe")
    assert lan.page.locator("#composer-input").input_value() == "bộ cài"
    lan.page.locator("#composer-files button").click()  # removed from the tray
    expect(lan.page.locator("#composer-files li")).to_have_count(0)
    from chat.models import Message

    assert Message.objects.count() == 0


def test_files_on_a_phone_fit_the_screen(make_user, sign_in, topic):
    make_user("ht.eng", centre="HT", display_name="Lan (Hà Tĩnh)")
    lan = sign_in("ht.eng", phone=True)
    lan.goto(TOPIC_URL)
    lan.wait_live()
    lan.page.set_input_files("#file-input", {"name": "bao-cao-su-co-rat-dai-ten-tep-cua-trung-tam-ha-tinh.png",
                                             "mimeType": "image/png", "buffer": png_bytes(1600, 1200)})
    expect(lan.page.locator("#composer-files li")).to_have_count(1)
    expect(lan.page.locator("#attach-files")).to_be_visible()
    lan.page.click("#send")
    thumb = lan.page.locator("#messages li.msg .msg-files img")
    lan.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert lan.page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")
    box = thumb.bounding_box()
    assert box is not None and box["width"] <= 390
