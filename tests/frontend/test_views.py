"""The pages and helpers without a browser (run in both passes): who may open what, the preview
endpoint's refusals, the JavaScript catalog, and the CSP promises the templates must keep."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.test import Client

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
PAGES = ["/", "/topics/phat-trien-phan-mem/", "/alerts/", "/alerts/1/", "/tickets/", "/tickets/new/",
         "/tickets/1/", "/search/"]


@pytest.fixture
def browser_client(make_user):
    """A logged-in session client that enforces CSRF like a browser."""

    def make(username: str = "ht.eng", **kw) -> Client:
        make_user(username, **kw)
        client = Client(enforce_csrf_checks=True)
        assert client.login(username=username, password=f"pw-{username}")
        return client

    return make


@pytest.fixture
def topic(db):
    from chat.services import create_topic

    return create_topic(slug="phat-trien-phan-mem", name_vi="Phát triển phần mềm", name_en="Software development")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_needs_a_session(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.fixture
def real_ids(make_user):
    """An alert and a ticket the signed-in person (ht.eng) may see, so their pages have something to
    show (a detail page of an invisible or missing item is a 404, tested below)."""
    from alerts.services import raise_alert
    from requests.services import create_ticket

    officer = make_user("dn.sec", centre="DN", role="security_officer")
    requester = make_user("ht.req", centre="HT")
    alert = raise_alert(by=officer, title="Dò quét", severity="low", tlp="clear")
    ticket = create_ticket(by=requester, title="Nhờ hỗ trợ", category="software", target_centre="DN")

    def resolve(path: str) -> str:
        return path.replace("/alerts/1/", f"/alerts/{alert.id}/").replace("/tickets/1/", f"/tickets/{ticket.id}/")

    return resolve


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_for_a_signed_in_person_in_vietnamese(browser_client, topic, real_ids, path):
    response = browser_client().get(real_ids(path), HTTP_ACCEPT_LANGUAGE="")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="vi"' in html
    assert 'id="hub-user"' in html
    assert "Chủ đề" in html  # the header's "Topics"
    assert "Đăng xuất" in html and "Thoát" not in html  # the hub's "Log out", not Django admin's


@pytest.mark.parametrize("path", ["/alerts/999999/", "/tickets/999999/"])
def test_a_detail_page_of_a_missing_item_is_404(browser_client, path):
    assert browser_client().get(path).status_code == 404


def test_pages_carry_no_inline_script_or_handler(browser_client, topic, real_ids):
    client = browser_client()
    for path in PAGES + ["/accounts/login/"]:
        html = client.get(real_ids(path)).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, f"inline script on {path}: {tag}"
        assert not re.search(r"\son[a-z]+\s*=", html), f"inline event handler on {path}"
        assert "style=" not in html, f"inline style on {path}"


def hub_user_json(html: str) -> str:
    """The viewer data a page hands its scripts (frontend.views.hub_user, `json_script`)."""
    found = re.search(r'<script id="hub-user" type="application/json">(.*?)</script>', html)
    assert found is not None, "the page has no hub-user data"
    return found.group(1)


def test_csp_forbids_inline_scripts(browser_client, topic):
    response = browser_client().get("/topics/phat-trien-phan-mem/")
    csp = response["Content-Security-Policy"]
    found = re.search(r"script-src ([^;]*)", csp)
    assert found is not None, csp
    script_src = found.group(1)
    assert "'unsafe-inline'" not in script_src and "'self'" in script_src


def test_the_viewer_data_on_the_page_is_their_own(browser_client, topic):
    html = browser_client("ht.sec", role="security_officer").get("/alerts/").content.decode()
    data = json.loads(hub_user_json(html))
    assert data["username"] == "ht.sec" and data["centre"] == "HT"
    assert data["can_raise_alerts"] is True and data["is_manager"] is False
    assert 'id="alert-form"' in html


def test_engineers_get_no_alert_form_and_managers_get_the_dashboard_link(browser_client, topic):
    engineer = browser_client("ht.eng").get("/alerts/").content.decode()
    assert 'id="alert-form"' not in engineer and 'href="/dashboard/"' not in engineer
    manager = browser_client("dn.mgr", centre="DN", role="manager").get("/").content.decode()
    assert 'href="/dashboard/"' in manager


def test_an_unknown_or_hidden_topic_is_a_404(browser_client, db):
    from chat.services import create_topic

    create_topic(slug="chi-quan-ly", name_vi="Chỉ quản lý", name_en="Managers only", allowed_roles=["manager"])
    client = browser_client()
    assert client.get("/topics/khong-co/").status_code == 404
    assert client.get("/topics/chi-quan-ly/").status_code == 404


def test_the_javascript_catalog_has_the_vietnamese_strings(client, db):
    response = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 200
    assert "\\u0110ang k\\u1ebft n\\u1ed1i l\\u1ea1i" in response.content.decode() or \
        "Đang kết nối lại" in response.content.decode()


class TestPreview:
    """POST /ui/preview renders like a message would be; bad input is refused and changes nothing."""

    def post(self, client, body, raw=None):
        token = client.get("/").cookies.get("csrftoken")
        token = token.value if token else client.cookies["csrftoken"].value
        return client.post("/ui/preview", data=raw if raw is not None else json.dumps(body),
                           content_type="application/json", HTTP_X_CSRFTOKEN=token)

    def test_markdown_is_rendered_and_sanitised(self, browser_client, topic):
        client = browser_client()
        response = self.post(client, {"body": "**đậm** <script>alert(1)</script> @HT"})
        assert response.status_code == 200
        html = response.json()["html"]
        assert "<strong>đậm</strong>" in html
        assert "<script>" not in html and "&lt;script&gt;" in html

    @pytest.mark.parametrize("raw, status", [("not json", 400), (json.dumps({"body": 5}), 400),
                                             (json.dumps(["x"]), 400), (json.dumps({}), 400)])
    def test_bad_input_is_a_clear_400(self, browser_client, topic, raw, status):
        response = self.post(browser_client(), None, raw=raw)
        assert response.status_code == status
        assert response.json()["error"]["code"] == "invalid"

    def test_too_large_is_a_413(self, browser_client, topic, settings):
        response = self.post(browser_client(), {"body": "x" * (settings.HUB_MAX_BODY_BYTES + 1)})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_large"

    def test_without_csrf_token_it_is_refused(self, browser_client, topic):
        response = browser_client().post("/ui/preview", data=json.dumps({"body": "x"}),
                                         content_type="application/json")
        assert response.status_code == 403

    def test_without_a_session_it_redirects_to_login(self, client, db):
        assert client.post("/ui/preview", data="{}", content_type="application/json").status_code == 302


def test_static_client_files_parse_as_modules_when_node_is_present():
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; the browser tests load the modules instead")
    for path in sorted((FRONTEND / "static" / "frontend" / "js").glob("*.js")):
        result = subprocess.run([node, "--check", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{path.name}: {result.stderr}"


def test_other_apps_pages_get_the_same_header(browser_client, topic):
    """reports/ renders the managers' dashboard with frontend/base.html: the header, the bell and the
    viewer data come from the template tag, not from the view."""
    html = browser_client("dn.mgr", centre="DN", role="manager").get("/dashboard/").content.decode()
    assert 'id="bell"' in html and 'id="hub-user"' in html and 'href="/dashboard/"' in html
    data = json.loads(hub_user_json(html))
    assert data["username"] == "dn.mgr" and data["is_manager"] is True


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_every_interface_string_has_a_vietnamese_translation(domain):
    text = (FRONTEND / "locale" / "vi" / "LC_MESSAGES" / f"{domain}.po").read_text(encoding="utf-8")
    entries = text.split("\n\n")[1:]  # the first block is the header
    untranslated = [e for e in entries if re.search(r'^msgstr(\[0\])? ""$(?!\n")', e, re.M) and "msgid" in e]
    fuzzy = [e for e in entries if "#, fuzzy" in e]
    assert untranslated == [] and fuzzy == []


def test_mention_links_lead_to_the_person_and_the_centre(browser_client, make_user):
    from chat.rendering import render_body

    make_user("dn.sec", centre="DN", role="security_officer", display_name="Bình Đà Nẵng")
    client = browser_client()
    html = render_body("@dn.sec và @DN xem giúp").html
    links = re.findall(r'href="(/[^"]+)"', html)
    assert links == ["/people/dn.sec/", "/centres/DN/"]
    person_page = client.get(links[0]).content.decode()
    assert "Bình Đà Nẵng" in person_page and 'href="/centres/DN/"' in person_page
    centre_page = client.get(links[1]).content.decode()
    assert "Bình Đà Nẵng" in centre_page and 'href="/people/dn.sec/"' in centre_page


def test_unknown_people_and_centres_are_404(browser_client):
    client = browser_client()
    assert client.get("/people/khong-ai/").status_code == 404
    assert client.get("/centres/XYZ/").status_code == 404
