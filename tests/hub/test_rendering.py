"""hub.lib.rendering: the one Markdown → safe HTML path, under concurrency as the server runs it."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.lib.rendering import _render_full, is_plain, render_markdown


def test_markdown_is_rendered_and_script_is_not():
    html = render_markdown("**đậm** <script>alert(1)</script> https://example.vn")
    assert "<strong>đậm</strong>" in html
    assert "<script>" not in html
    assert 'href="https://example.vn"' in html and 'rel="nofollow noopener"' in html


@pytest.mark.parametrize("target", ["//evil.example/login", "/\\evil.example/login", "/&#9;/evil.example/login",
                                    "/&#10;/evil.example/login", "</\n/evil.example/login>",
                                    "/&#x2F;evil.example/login"])
def test_a_protocol_relative_link_is_another_sites_and_opens_apart(target):
    """"//host/…" (and "/\\host/…", which browsers read the same) is not one of the hub's own pages:
    it gets `rel` and `target` like any other site's link, the linkifier's shortcut included."""
    html = render_markdown(f"[đăng nhập]({target}) và [cảnh báo](/alerts/3/)")
    assert 'rel="nofollow noopener"' in html and 'target="_blank"' in html
    assert '<a href="/alerts/3/">' in html


def test_concurrent_rendering_in_many_threads_gives_each_caller_its_own_correct_html():
    """Sync views run one thread per request; the sanitiser holds parser state, so a shared one
    corrupted output and raised under a burst of requests (the alert-storm benchmark found it)."""
    texts = [f"**cảnh báo {i}** _mức {i % 4}_ xem https://cert{i}.example.vn/a?b={i}\n\n- một\n- hai"
             for i in range(400)]
    expected = [render_markdown(text) for text in texts]
    with ThreadPoolExecutor(max_workers=16) as pool:
        for _ in range(3):
            assert list(pool.map(render_markdown, texts)) == expected


# --- the plain-line shortcut ------------------------------------------------------------------------

_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyAĐÊÔƠƯạảãáàầấậẩẫằắặẳẵẹẻẽéèềếệểễịỉĩíìọỏõóòồốộổỗờớợởỡụủũúùừứựửữỳỵỷỹýz"
_PLAIN_ALPHABET = _LETTERS + "0123456789" + " ,.?!:;%()'\"-"
_ANY_ALPHABET = _PLAIN_ALPHABET + "_*#<>&[]`\\/@~|+=\n\t\u00a0"


@given(st.text(alphabet=_PLAIN_ALPHABET, min_size=1, max_size=60) | st.text(alphabet=_ANY_ALPHABET, max_size=30))
@settings(max_examples=600, deadline=None)
def test_a_line_taken_as_plain_renders_exactly_as_markdown_and_the_sanitiser_would(text):
    """The shortcut is only taken where it changes nothing: whatever `is_plain` accepts, the full
    Markdown + bleach path renders to the same HTML."""
    if is_plain(text):
        assert _render_full(text) == render_markdown(text) == f"<p>{text}</p>"
    else:
        assert render_markdown(text) == _render_full(text)


@pytest.mark.parametrize("text", [
    "Xin chào các bạn, hôm nay thế nào?", "Đã xử lý xong. Cảm ơn!", "10 phút nữa (khoảng 14:30) họp", "100%",
    "nói \"có\" và 'không'", "ok...", "a - b",
])
def test_everyday_lines_take_the_shortcut(text):
    assert is_plain(text)


@pytest.mark.parametrize("text", [
    "xem cert.vn", "1. mục", "2) mục", "- mục", "# tiêu đề", "**đậm**", "a_b", "<b>x</b>", "a &amp; b",
    "dòng một\ndòng hai", "    mã", "cuối ", " đầu", "", "@th.engineer", "a/b", "1.5 giờ",
])
def test_anything_markdown_or_the_linkifier_might_act_on_does_not(text):
    assert not is_plain(text)


# --- the linkifier's shortcut -----------------------------------------------------------------------

def _linkified(text: str) -> str:
    """What the full path gave before the shortcut: the cleaner's output through the linkifier always."""
    from hub.lib.rendering import _linkify_outside_code, _markdown, _sanitisers, separate_blocks

    md = _markdown()
    md.reset()
    cleaner, linker = _sanitisers()
    return _linkify_outside_code(linker, cleaner.clean(md.convert(separate_blocks(text.replace("\r\n", "\n")))))


@given(st.text(alphabet=_ANY_ALPHABET + "=\"'{}$", max_size=80))
@settings(max_examples=600, deadline=None)
def test_skipping_the_linkifier_where_it_finds_nothing_changes_no_output(text):
    """The linkifier's second parse is skipped when the cleaned HTML has no link and nothing its URL
    pattern matches (issue 27): whatever is skipped renders exactly as the linkifier would have."""
    assert _render_full(text) == _linkified(text)


_LINK_TARGETS = st.sampled_from(["/alerts/12/", "/people/ht.an/", "//evil.example/", "/a?b=1&c=2", "/x y",
                                  "https://cert.vn/a", "mailto:a@b.vn", "javascript:alert(1)", "", "/q\"r"])


@given(st.lists(st.one_of(
    st.text(alphabet=_ANY_ALPHABET + "=\"'", max_size=20),
    st.builds(lambda text, target, title: f"[{text}]({target}{title})",
              st.text(alphabet=_ANY_ALPHABET, max_size=12), _LINK_TARGETS,
              st.sampled_from(["", ' "tiêu đề"', " 'a>b'"])),
    st.builds(lambda target: f"<{target}>", _LINK_TARGETS)), max_size=6).map("".join))
@settings(max_examples=600, deadline=None)
def test_skipping_the_linkifier_for_our_own_links_changes_no_output(text):
    """Nor where the only links are the hub's own (an address starting with "/": an alert's summary
    message links to the alert's page, a mention to the person's), which it leaves as they are."""
    assert _render_full(text) == _linkified(text)


@pytest.mark.parametrize("text", [
    "Bench alert storm, alert **7**: every centre must receive it exactly once.",
    "**Security alert #12 · Medium · TLP:CLEAR** — Bench storm run-1 #7\n\nRaised by bench-0001 (HT).\n\n"
    "Affected systems: bench\n\n[Details and acknowledgement](/alerts/12/)",
    "[@ht.an](/people/ht.an/) xem [trang](/alerts/3/ \"tiêu đề\") và [cert](/tickets/?q=a&b=c)",
    "**Cảnh báo #12 · Cao · TLP:AMBER** — Dò quét SSH\n\nNgười báo: An (HT).\n\n[Chi tiết](/alerts/12/)",
    "```\nrm -rf / && echo <b>\n```\nxem cert.vn hoặc https://example.vn/a?b=1&c=2",
    "| a | b |\n| --- | --- |\n| 1 & 2 | <3 |", "> trích dẫn `mã` & \"ngoặc\"\n\n1. một\n2. hai",
])
def test_texts_with_and_without_links_render_as_before(text):
    assert _render_full(text) == _linkified(text)


# --- the cleaner's shortcut -------------------------------------------------------------------------

def _cleaned(text: str) -> tuple[str, str]:
    """Markdown's output for `text`, and what the cleaner makes of it."""
    from hub.lib.rendering import _markdown, _sanitisers, separate_blocks

    md = _markdown()
    md.reset()
    rendered = md.convert(separate_blocks(text.replace("\r\n", "\n")))
    return rendered, _sanitisers()[0].clean(rendered)


_MARKUP = st.sampled_from(["**", "*", "_", "__", "`", "~~", "# ", "## ", "\n- ", "\n1. ", "\n> ", "\n\n", "  \n",
                           "\n---\n", "\n```\n", "\n    ", "&", "&amp;", "&lt;", "&#65;", "&copy;", "<", ">", "<b>",
                           "</p>", "\r\n", "\x00", "\x0c", "\x7f", "\x85", "\u00a0", "\ufeff", "\u2028", "|", "\\"])
_LINKS = st.builds(lambda text, target, title: f"[{text}]({target}{title})",
                   st.text(alphabet=_ANY_ALPHABET, max_size=10) | st.just("x [y](/b)"), _LINK_TARGETS
                   | st.sampled_from(["/alerts/12/", "/a_b-c/", "/", "/a//b", "/a.b"]),
                   st.sampled_from(["", "", ' "t"']))


@given(st.lists(st.one_of(st.text(alphabet=_ANY_ALPHABET + "=\"'", max_size=15), _MARKUP, _LINKS),
                max_size=10).map("".join))
@settings(max_examples=1500, deadline=None)
def test_markdown_the_cleaner_would_leave_as_it_is_skips_it_and_changes_nothing(text):
    """Markdown's output that `_clean_as_is` accepts is exactly what the cleaner gives back (issue 27:
    the cleaner's second parse was a seventh of raising an alert); the rendering is the same."""
    from hub.lib.rendering import _clean_as_is

    rendered, cleaned = _cleaned(text)
    if _clean_as_is(rendered):
        assert rendered == cleaned
    assert _render_full(text) == _linkified(text)


@pytest.mark.parametrize(("text", "as_is"), [
    ("Bench alert storm, alert **7**: every centre must receive it exactly once.", True),
    ("**Cảnh báo ATTT #12 · Trung bình · TLP:CLEAR** — tiêu đề\n\nNgười phát: An (HT).\n\n"
     "[Xem chi tiết và xác nhận](/alerts/12/)", True),
    ("# h\n\n- a\n- b\n\n> q *e* `c`\n\n---\n\n1. x  \ny ~~d~~ 3 > 2 & 1 < 4", True),
    ("[x](//evil.example/)", False), ("[x](/a \"t\")", False), ("[x](https://cert.vn/)", False),
    ("**[x [y](/b)](/a)**", False), ("```\ncode\n```", False), ("| a | b |\n| - | - |\n| 1 | 2 |", False),
    ("&copy; &#65;", False), ("a\x0cb", False), ("a\x00b", False), ("![i](/a.png)", False),
])
def test_which_markdown_output_skips_the_cleaner(text, as_is):
    from hub.lib.rendering import _clean_as_is

    rendered, cleaned = _cleaned(text)
    assert _clean_as_is(rendered) is as_is
    assert rendered == cleaned or not as_is
