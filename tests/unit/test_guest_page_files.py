"""The guest page's files as the studio serves them: module scripts as JavaScript (a
browser refuses a module served as anything else), revalidated at every load, under the
page's Content-Security-Policy; nothing but the page's own modules and style."""

from __future__ import annotations

import asyncio
from pathlib import Path

from guestrec.server.web_app import PAGE_DIR
from support.guest_server import running_server
from support.whip_client import post_raw

BAD_NAMES = ("..%2Fserver%2Fweb_app.py", "%2e%2e/guest_page/guest.js", "", "GUEST.JS", "guest.js.map")


def test_modules_are_served_as_javascript_under_the_page_policy(tmp_path: Path) -> None:
    async def scenario() -> dict:
        async with running_server(tmp_path) as server:
            out = {"page": await post_raw(f"{server.base}/?name=Ann", b"", method="GET")}
            for path in sorted(PAGE_DIR.iterdir()):
                out[path.name] = await post_raw(f"{server.base}/static/{path.name}", b"", method="GET")
            for bad in BAD_NAMES:
                out["bad:" + bad] = await post_raw(f"{server.base}/static/{bad}", b"", method="GET")
            return out

    out = asyncio.run(asyncio.wait_for(scenario(), 30))
    status, html, headers = out["page"]
    assert status == 200 and '<script type="module" src="static/guest.js"></script>' in html
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    modules = sorted(p.name for p in PAGE_DIR.glob("*.js"))
    assert "guest.js" in modules and "studio_requests.js" in modules and "guest_link.js" not in modules
    for name in modules:
        status, body, headers = out[name]
        assert status == 200, name
        assert headers["Content-Type"] == "text/javascript; charset=utf-8", (name, headers["Content-Type"])
        assert headers["Cache-Control"] == "no-cache", name
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert body == (PAGE_DIR / name).read_text(encoding="utf-8")
    status, _, headers = out["guest.css"]
    assert status == 200 and headers["Content-Type"] == "text/css; charset=utf-8"
    for name in ("index.html", "package.json"):  # the page itself is served at /, not here
        assert out[name][0] == 404, name
    for key, (status, _, _) in out.items():
        if key.startswith("bad:"):
            assert status in (403, 404), key
