"""axe-core (Deque's accessibility engine, the npm package pinned in tests/axe/package.json and
installed by `make test`: `npm ci` in tests/axe/) injected by Playwright into the pages under test.

The script is added to a browser context with `add_init_script`, which the DevTools protocol runs in
every document before the page's own scripts and outside its Content-Security-Policy: the hub's pages
are tested as they are served (`script-src 'self'`), not with the CSP turned off."""

from __future__ import annotations

from pathlib import Path

from tests.services import require

AXE = Path(__file__).resolve().parents[1] / "axe" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

# Every rule axe runs by default (WCAG 2.0–2.2 A and AA, and its best practices), only the results
# of these impacts fail a test.
RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter((v) => ["serious", "critical"].includes(v.impact)).map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 6).map((n) => `${n.target.join(" ")}: ${(n.failureSummary || "").replace(/\\s+/g, " ")}`),
  }));
}"""


def axe_problem() -> str | None:
    if AXE.is_file():
        return None
    return (f"axe-core is not installed ({AXE} missing): run `make axe` "
            "(npm ci in tests/axe/, the version pinned in its package-lock.json)")


def install(context) -> None:
    """Inject axe into every page `context` loads from now on. Skips (fails under CI=true) when the
    package is not installed."""
    require(axe_problem())
    context.add_init_script(path=str(AXE))


def violations(page) -> list[dict]:
    """The serious and critical violations axe finds in the page as it is now."""
    assert page.evaluate("typeof window.axe") == "object", "axe-core was not injected"
    return page.evaluate(RUN)


def describe(found: dict[str, list[dict]]) -> str:
    lines = []
    for where, items in found.items():
        for v in items:
            lines.append(f"{where}: [{v['impact']}] {v['id']} — {v['help']}")
            lines += [f"    {node}" for node in v["nodes"]]
    return "\n".join(lines)
