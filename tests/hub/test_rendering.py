"""hub.rendering: the one Markdown → safe HTML path, under concurrency as the server runs it."""

from concurrent.futures import ThreadPoolExecutor

from hub.rendering import render_markdown


def test_markdown_is_rendered_and_script_is_not():
    html = render_markdown("**đậm** <script>alert(1)</script> https://example.vn")
    assert "<strong>đậm</strong>" in html
    assert "<script>" not in html
    assert 'href="https://example.vn"' in html and 'rel="nofollow noopener"' in html


def test_concurrent_rendering_in_many_threads_gives_each_caller_its_own_correct_html():
    """Sync views run one thread per request; the sanitiser holds parser state, so a shared one
    corrupted output and raised under a burst of requests (the alert-storm benchmark found it)."""
    texts = [f"**cảnh báo {i}** _mức {i % 4}_ xem https://cert{i}.example.vn/a?b={i}\n\n- một\n- hai"
             for i in range(400)]
    expected = [render_markdown(text) for text in texts]
    with ThreadPoolExecutor(max_workers=16) as pool:
        for _ in range(3):
            assert list(pool.map(render_markdown, texts)) == expected
