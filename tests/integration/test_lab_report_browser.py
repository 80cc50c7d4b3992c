# SPDX-License-Identifier: GPL-3.0-or-later
"""vane-lab's report in a real browser, and through the dashboard (issue 15:
"the report opens in Chromium (a browser test checks that the plots render
and have data)", "The dashboard links to the last reports").

Runs `vane-lab run` of the bundled evac-ttl30 scenario (fewer clients, so it
takes well under a second) into a temporary directory, serves that
directory from vaned (http.lab-reports), checks the listing and the file
guard over plain HTTP (no path traversal, no symlinks, no other file
types), then runs tests/browser/report.test.mjs: headless Debian chromium
opens the HTML file, checks every SVG plot has a size and lines with
points and the summary table has numbers, then opens the dashboard and
follows the "Lab reports" link to the same report.
"""

import http.client
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import BUILD, REPO, free_port
from steer_helpers import steer_factory, wait_until  # noqa: F401 (fixture)

BROWSER_DIR = REPO / "tests" / "browser"
NODE = shutil.which("node") or "/usr/bin/node"
CHROMIUM = "/usr/bin/chromium"
LAB = os.environ.get("VANE_LAB", str(BUILD / "vane-lab"))
SCENARIO = "evac-ttl30"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(NODE) and
         (BROWSER_DIR / "node_modules" / "playwright-core").is_dir()),
    reason="needs chromium, node and tests/browser/node_modules "
           "(run scripts/deps.sh)")


def http_get(url, timeout=5.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
    except OSError:
        return None, {}, b""


def raw_get(port, path, method="GET"):
    """The path exactly as given: urllib and browsers would fold ".."."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.putrequest(method, path, skip_accept_encoding=True)
        c.endheaders()
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def lab_run(out, name_args):
    p = subprocess.run([LAB, "run", "-q", "-o", str(out)] + name_args,
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, VANE_LAB_DIR=str(REPO / "etc" / "lab")))
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_lab_report_in_browser(steer_factory, tmp_path):  # noqa: F811
    reports = tmp_path / "lab"
    # An older run of another scenario: the listing is newest first.
    lab_run(reports, ["--clients", "20000", "--resolvers", "100", "herd-ramp"])
    old = time.time() - 3600
    for ext in ("html", "json"):
        os.utime(reports / ("herd-ramp." + ext), (old, old))
    out = lab_run(reports, ["--clients", "20000", "--resolvers", "100", SCENARIO])
    html = reports / (SCENARIO + ".html")
    assert html.is_file() and str(html) in out, out
    summary = json.loads((reports / (SCENARIO + ".json")).read_text())
    assert summary["mode"] == "model" and summary["rto95"] > 0, summary

    # What must stay unreachable: a file next to the directory, a symlink
    # to it, a symlinked directory, a hidden report and a type not served.
    secret = tmp_path / "secret.html"
    secret.write_text("<p>SECRET-OUTSIDE</p>")
    (reports / "leak.html").symlink_to(secret)
    (reports / "linked").symlink_to(tmp_path, target_is_directory=True)
    (reports / ".hidden.html").write_text("<p>hidden</p>")
    (reports / "api.token").write_text("token\n")
    (reports / "sub").mkdir()
    (reports / "sub" / "plot.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>')

    http_port = free_port()
    v = steer_factory({"http": {"listen": "127.0.0.1@%d" % http_port,
                                "lab-reports": str(reports)}})
    base = "http://127.0.0.1:%d" % http_port
    wait_until(lambda: http_get(base + "/api/v1/status")[0] == 200,
               "the HTTP API", timeout=30, step=0.05)

    st, _, body = http_get(base + "/api/v1/lab-reports")
    assert st == 200 and json.loads(body)["enabled"] is True, (st, body)
    rows = json.loads(body)["reports"]
    # Symlinked and hidden reports are not listed.
    assert [r["name"] for r in rows] == [SCENARIO, "herd-ramp"], rows
    top = rows[0]
    assert top["scenario"] == SCENARIO and top["mode"] == "model", top
    assert top["rto95"] == summary["rto95"] and top["rto99"] == summary["rto99"], top
    assert top["report"] == SCENARIO + ".html" and top["data"] == SCENARIO + ".json", top
    assert abs(top["time"] - html.stat().st_mtime) < 2, top
    assert rows[1]["time"] < top["time"], rows
    st, _, body = http_get(base + "/api/v1/lab-reports?limit=1")
    assert st == 200 and len(json.loads(body)["reports"]) == 1, body
    assert http_get(base + "/api/v1/lab-reports?limit=0")[0] == 400

    st, hdr, body = http_get(base + "/lab-reports/%s.html" % SCENARIO)
    assert st == 200 and body == html.read_bytes(), (st, body[:200])
    assert hdr["Content-Type"].startswith("text/html"), hdr
    # The report's own page runs no script on the dashboard's origin.
    assert "script-src" not in hdr["Content-Security-Policy"] and \
        "default-src 'none'" in hdr["Content-Security-Policy"], hdr
    st, hdr, body = http_get(base + "/lab-reports/%s.json" % SCENARIO)
    assert st == 200 and json.loads(body) == summary, (st, body[:200])
    assert http_get(base + "/lab-reports/sub/plot.svg")[0] == 200

    refused = {
        "/lab-reports/../secret.html": 400,
        "/lab-reports/%2e%2e/secret.html": 400,
        "/lab-reports/sub/../../secret.html": 400,
        "/lab-reports//" + str(secret).lstrip("/"): 400,
        "/lab-reports/.hidden.html": 400,
        "/lab-reports/api.token": 400,
        "/lab-reports/leak.html": 404,
        "/lab-reports/linked/secret.html": 404,
        "/lab-reports/nothing.html": 404,
        "/lab-reports/sub": 400,
    }
    for path, want in refused.items():
        st, body = raw_get(http_port, path)
        assert st == want and b"SECRET-OUTSIDE" not in body, (path, st, body[:200])
    st, _ = raw_get(http_port, "/api/v1/lab-reports", method="POST")
    assert st == 405

    # Without the key: no reports and no files, and no 404 for the
    # dashboard, which asks every server.
    bare_port = free_port()
    steer_factory({"http": {"listen": "127.0.0.1@%d" % bare_port}}, name="bare")
    bare = "http://127.0.0.1:%d" % bare_port
    wait_until(lambda: http_get(bare + "/api/v1/status")[0] == 200,
               "the second HTTP API", timeout=30, step=0.05)
    st, _, body = http_get(bare + "/api/v1/lab-reports")
    assert st == 200 and json.loads(body) == {"ok": True, "enabled": False,
                                              "reports": []}, (st, body)
    assert http_get(bare + "/lab-reports/%s.html" % SCENARIO)[0] == 404

    out_dir = BROWSER_DIR / "out"
    out_dir.mkdir(exist_ok=True)
    env = dict(os.environ,
               VANE_REPORT_FILE=str(html),
               VANE_URL=base + "/?interval=250",
               VANE_REPORT_NAME=SCENARIO,
               VANE_REPORT_RTO95=str(summary["rto95"]))
    p = subprocess.run([NODE, str(BROWSER_DIR / "report.test.mjs")],
                       cwd=str(BROWSER_DIR), env=env, capture_output=True,
                       text=True, timeout=120)
    out = p.stdout + p.stderr
    print(out)
    assert p.returncode == 0 and "RESULT ok" in p.stdout, \
        "browser test failed (rc %d); see %s/report-failure.png:\n%s" % (
            p.returncode, out_dir, out[-8000:])
    assert v.proc.poll() is None, v.stderr_text()[-2000:]
