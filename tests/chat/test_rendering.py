"""Message rendering: Markdown in, allow-listed HTML out; mentions become links; XSS never survives."""

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from chat.rendering import render_body
from chat.text import fold, mention_tokens, search_text

pytestmark = pytest.mark.django_db

XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<body onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<a href=\"javascript:alert(1)\">bấm</a>",
    "[bấm vào](javascript:alert(1))",
    "[bấm vào](JaVaScRiPt:alert(1))",
    "[bấm vào](javascript&#58;alert(1))",
    "[bấm vào](&#106;avascript:alert(1))",
    "[bấm vào](%6Aavascript:alert(1))",
    "[bấm vào](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[bấm vào](vbscript:msgbox(1))",
    "![ảnh](x\" onerror=\"alert(1))",
    "![ảnh](javascript:alert(1))",
    "[x](http://a.example\" onmouseover=\"alert(1))",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<form action=javascript:alert(1)><input type=submit>",
    "<details open ontoggle=alert(1)>",
    "<a href=\"&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)\">x</a>",
    "\"><script>alert(1)</script>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<<script>script>alert(1)<</script>/script>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<link rel=stylesheet href=javascript:alert(1)>",
    "<base href=javascript:/>",
    "<img src=\"x\" onerror=\"&#97;lert(1)\">",
    "`<script>alert(1)</script>` và ```\n<script>alert(1)</script>\n```",
    "@<script>alert(1)</script>",
    "[@admin](javascript:alert(1))",
]

ALLOWED_ATTRIBUTES = {"href", "title", "rel", "target", "class", "data-mention", "align"}
ALLOWED_TAGS = {"p", "br", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr",
                "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "del", "span"}


class Elements(HTMLParser):
    """Collects (tag, attributes) with entities decoded, as a browser's parser would see them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, [(name, value or "") for name, value in attrs]))


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_no_xss_payload_survives_rendering(payload):
    html = render_body(payload).html
    elements = Elements()
    elements.feed(html)
    for tag, attrs in elements.found:  # what a browser would build from the HTML
        assert tag in ALLOWED_TAGS, html
        for name, value in attrs:
            assert name in ALLOWED_ATTRIBUTES, html
            if name == "href":
                assert urlsplit(value.strip()).scheme.lower() in {"", "http", "https", "mailto"}, html


def test_markdown_code_links_lists_quotes_render():
    html = render_body(
        "Xem [hướng dẫn](https://ais.gov.vn/huong-dan)\n\n- một\n- hai\n\n> trích dẫn\n\n```\nprint('xin chào')\n```"
    ).html
    assert '<a href="https://ais.gov.vn/huong-dan" rel="nofollow noopener" target="_blank">hướng dẫn</a>' in html
    assert "<ul>\n<li>một</li>\n<li>hai</li>\n</ul>" in html
    assert "<blockquote>\n<p>trích dẫn</p>\n</blockquote>" in html
    assert "<pre><code>print('xin chào')\n</code></pre>" in html


def test_bare_urls_become_nofollow_links():
    html = render_body("tải tại https://example.vn/ban-va").html
    assert 'href="https://example.vn/ban-va"' in html and 'rel="nofollow noopener"' in html


def test_html_typed_by_the_user_shows_as_text():
    assert render_body("<b>đậm</b>").html == "<p>&lt;b&gt;đậm&lt;/b&gt;</p>"


def test_mentions_of_known_people_and_centres_become_links(make_user):
    make_user("hue.security", centre="HUE", role="security_officer")
    make_user("ht.engineer", centre="HT")
    rendered = render_body("@hue.security, @HT và @khong.co.ai, thư gửi a@hue.gov.vn")
    assert '<a class="mention" data-mention="user" href="/people/hue.security/">@hue.security</a>' in rendered.html
    assert '<a class="mention" data-mention="centre" href="/centres/HT/">@HT</a>' in rendered.html
    assert "@khong.co.ai" in rendered.html and "/people/khong.co.ai/" not in rendered.html
    assert "a@hue.gov.vn" in rendered.html
    assert [u.username for u in rendered.users] == ["hue.security"]
    assert [c.code for c in rendered.centres] == ["HT"]


def test_mentions_inside_code_are_left_alone(make_user):
    make_user("ht.engineer", centre="HT")
    rendered = render_body("`@ht.engineer` và\n```\n@HT\n```")
    assert "mention" not in rendered.html and not rendered.users and not rendered.centres


def test_mention_tokens_ignore_emails_and_trailing_punctuation():
    assert mention_tokens("@ht.engineer. hỏi @DN, mail x@y.vn") == ["ht.engineer", "DN"]


@pytest.mark.parametrize("text, folded", [
    ("An Toàn Thông Tin", "an toan thong tin"), ("Đà Nẵng", "da nang"), ("ĐẮK NÔNG", "dak nong"),
    ("Thừa Thiên Huế", "thua thien hue"),
])
def test_folding_strips_vietnamese_diacritics_and_case(text, folded):
    assert fold(text) == folded


def test_search_text_marks_word_starts():
    assert search_text("Sự cố: mã độc!") == " su co ma doc "
    assert search_text("   ") == ""
