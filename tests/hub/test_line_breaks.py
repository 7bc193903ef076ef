"""Messages, alerts and requests render what people type (issue 23): a typed line break is a line
break, a list or quote right after a line of text is a list or quote, a line after them ends them,
code fences are left alone."""

from hub.lib.rendering import render_markdown, separate_blocks


def test_a_typed_line_break_is_kept():
    assert render_markdown("Dòng một\nDòng hai") == "<p>Dòng một<br>\nDòng hai</p>"


def test_a_list_after_a_line_of_text_is_a_list_and_a_line_after_it_ends_it():
    html = render_markdown("Các bước:\n- vá\n- đổi mật khẩu\n  - cả khoá SSH\nXong.")
    assert html.startswith("<p>Các bước:</p>\n<ul>\n<li>vá</li>")
    assert "<ul>\n<li>cả khoá SSH</li>\n</ul>" in html  # nested with two spaces
    assert html.endswith("</ul>\n<p>Xong.</p>")


def test_a_quote_after_text_and_numbered_lists_are_blocks():
    assert render_markdown("Huế viết:\n> đã chặn\nĐồng ý.") == (
        "<p>Huế viết:</p>\n<blockquote>\n<p>đã chặn</p>\n</blockquote>\n<p>Đồng ý.</p>")
    assert "<ol>\n<li>một</li>\n<li>hai</li>\n</ol>" in render_markdown("Thứ tự:\n1. một\n2. hai")


def test_code_fences_and_emphasis_are_left_alone():
    source = "Lệnh:\n```\n- không phải danh sách\n> không phải trích dẫn\n```\n*nhấn* mạnh"
    assert separate_blocks(source) == source
    html = render_markdown(source)
    assert "<pre><code>- không phải danh sách\n&gt; không phải trích dẫn\n</code></pre>" in html
    assert "<em>nhấn</em> mạnh" in html


def test_code_is_escaped_once_and_never_linked_while_text_links_are():
    html = render_markdown("Chạy `curl https://hub.example/a && echo ok` rồi xem https://hue.gov.vn/b\n"
                           "```\nmake run && curl http://127.0.0.1:8000/healthz\n```")
    assert "<code>curl https://hub.example/a &amp;&amp; echo ok</code>" in html
    assert "<pre><code>make run &amp;&amp; curl http://127.0.0.1:8000/healthz\n</code></pre>" in html
    assert html.count("<a ") == 1 and 'href="https://hue.gov.vn/b"' in html
