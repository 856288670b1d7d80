"""Render the derivative view of the quickstart's loss in headless Chromium and check it.

    python scripts/check_view_in_browser.py [--out DIR] [--screenshot PNG] [--no-jax]

Writes the page transgrad makes (``view.page``: what ``python -m transgrad show ... --html``
writes) for ``tg.value_and_grad(loss, wrt=(0, 1))`` after one call on the quickstart's
arguments, then runs Chromium (Debian's ``chromium`` package) twice on copies of it:

* ``--dump-dom`` on a copy with a probe: a script at the top of the page records JavaScript
  errors (``window.onerror``, unhandled rejections, ``console.error``); one at the bottom checks
  that the original and the derivative panes are both laid out side by side with their lines,
  that every ``# grad of line N`` comment links to line N of the original, that hovering a link
  highlights both sides and that a tab switches the panes, and writes what it found into the
  DOM as JSON, which the dump brings back; Chromium's own console log (``--enable-logging``)
  is searched for errors too;
* ``--screenshot`` on a copy that pins one adjoint block (as a click would), for the README.

Exits 0 when every check passes, 1 otherwise (2: no Chromium), printing the findings.
"""

import argparse
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))

PROBE_HEAD = """<script>
window.__tgErrors = [];
window.addEventListener("error", function (e) {
  window.__tgErrors.push("error: " + e.message + " at line " + e.lineno);
});
window.addEventListener("unhandledrejection", function (e) {
  window.__tgErrors.push("unhandled rejection: " + e.reason);
});
(function () { var original = console.error; console.error = function () {
  window.__tgErrors.push("console.error: " + Array.prototype.join.call(arguments, " "));
  return original.apply(console, arguments); }; })();
</script>"""

PROBE_TAIL = """<script>
(function () {
  var out = {checks: {}, facts: {}};
  function check(name, ok) { out.checks[name] = !!ok; }
  try {
    var root = document.querySelector(".tg-view");
    var panel = Array.prototype.filter.call(document.querySelectorAll(".tg-panel"),
      function (p) { return p.offsetHeight > 0; })[0];
    check("one panel visible", panel);
    var orig = panel.querySelector(".tg-original"), deriv = panel.querySelector(".tg-derivative");
    check("both panes present", orig && deriv);
    var a = orig.getBoundingClientRect(), b = deriv.getBoundingClientRect();
    out.facts.original_box = [a.left, a.top, a.width, a.height];
    out.facts.derivative_box = [b.left, b.top, b.width, b.height];
    check("both panes laid out", a.width > 200 && a.height > 50 && b.width > 200 && b.height > 50);
    check("panes side by side", a.right <= b.left + 1 && Math.abs(a.top - b.top) < 2);
    var ol = orig.querySelectorAll(".tg-line"), dl = deriv.querySelectorAll(".tg-line");
    out.facts.original_lines = ol.length; out.facts.derivative_lines = dl.length;
    check("original has its lines", ol.length >= 4 && /def loss/.test(orig.textContent));
    check("derivative has its lines", dl.length >= 8 && /def dloss/.test(deriv.textContent));
    check("lines are visible", ol[0].offsetHeight > 8 && dl[0].offsetHeight > 8);
    var comments = (deriv.textContent.match(/# grad of line \\d+/g) || []).length;
    var links = deriv.querySelectorAll("a.tg-link");
    out.facts.grad_comments = comments; out.facts.links = links.length;
    check("a link per grad comment", comments > 0 && links.length === comments);
    var targets = Array.prototype.every.call(links, function (l) {
      var t = document.getElementById(l.getAttribute("href").slice(1));
      return t && orig.contains(t) &&
        t.querySelector(".tg-ln").textContent === l.getAttribute("data-line");
    });
    check("links point at their original lines", targets);
    out.facts.highlighted_tokens = deriv.querySelectorAll(".tg-code span[class]").length;
    var link = links[links.length - 1];
    link.dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
    var target = document.getElementById(link.getAttribute("href").slice(1));
    check("hover highlights the original line", target.classList.contains("tg-hl"));
    check("hover highlights the adjoint block",
      deriv.querySelectorAll(".tg-line.tg-hl").length >= 2);
    target.dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
    check("hover on the original highlights the block",
      link.parentNode.classList.contains("tg-hl"));
    link.click();
    check("click pins both sides", target.classList.contains("tg-pin") &&
      link.parentNode.classList.contains("tg-pin"));
    var labels = document.querySelectorAll(".tg-tabs label");
    out.facts.tabs = Array.prototype.map.call(labels, function (l) { return l.textContent; });
    if (labels.length > 1) {
      labels[1].click();
      var shown = Array.prototype.filter.call(document.querySelectorAll(".tg-panel"),
        function (p) { return p.offsetHeight > 0; });
      check("a tab switches the panes", shown.length === 1 && shown[0] !== panel);
      labels[0].click();
    }
  } catch (e) {
    window.__tgErrors.push("probe: " + e);
  }
  out.errors = window.__tgErrors;
  var pre = document.createElement("pre");
  pre.id = "tg-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""

PIN = """<script>
(function () {
  var links = document.querySelectorAll(".tg-p0 a.tg-link");
  for (var i = 0; i < links.length; i++) {
    if (links[i].getAttribute("data-line") === "%s") { links[i].click(); break; }
  }
})();
</script>"""


def quickstart_derivative():
    """``tg.value_and_grad(loss, wrt=(0, 1))`` after one call on the quickstart's data."""
    import numpy as np
    from quickstart import loss

    import transgrad as tg
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8))
    y = np.sin(x @ rng.normal(size=(8, 1))) + 0.1 * rng.normal(size=(256, 1))
    w1 = rng.normal(size=(8, 32)) * 0.3
    w2 = rng.normal(size=(32, 1)) * 0.3
    dloss = tg.value_and_grad(loss, wrt=(0, 1))
    dloss(w1, w2, x, y)
    return dloss


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(binary, args, timeout=120):
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-extensions", "--disable-dev-shm-usage", "--mute-audio"] + args
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          check=False)


def console_errors(stderr):
    """Lines of Chromium's log that report a JavaScript error in the page."""
    return [line for line in stderr.splitlines()
            if "CONSOLE" in line and re.search(r"Uncaught|Error|error", line)]


def check(page_html, workdir, screenshot=None, pin_line=None, binary=None, window="1280,720"):
    """Run the checks on ``page_html``; returns (ok, report dict)."""
    binary = binary or chromium()
    if binary is None:
        return None, {"error": "skipped: no chromium"}
    workdir = pathlib.Path(workdir)
    probe = page_html.replace("<head>", "<head>" + PROBE_HEAD, 1) \
                     .replace("</body>", PROBE_TAIL + "</body>", 1)
    probe_path = workdir / "view_probe.html"
    probe_path.write_text(probe, encoding="utf-8")
    result = _run(binary, ["--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000",
                           "--dump-dom", probe_path.as_uri()])
    match = re.search(r'<pre id="tg-check">(.*?)</pre>', result.stdout, re.DOTALL)
    if match is None:
        return False, {"error": "the probe wrote nothing", "stderr": result.stderr[-2000:]}
    import html
    report = json.loads(html.unescape(match.group(1)))
    report["chromium_console_errors"] = console_errors(result.stderr)
    ok = all(report["checks"].values()) and not report["errors"] \
        and not report["chromium_console_errors"] and len(report["checks"]) >= 12
    if screenshot is not None:
        shown = page_html if pin_line is None else \
            page_html.replace("</body>", PIN % pin_line + "</body>", 1)
        shot_path = workdir / "view_screenshot.html"
        shot_path.write_text(shown, encoding="utf-8")
        _run(binary, ["--hide-scrollbars", f"--window-size={window}",
                      "--force-device-scale-factor=1",
                      f"--screenshot={pathlib.Path(screenshot).resolve()}", shot_path.as_uri()])
        report["screenshot"] = str(screenshot)
        ok = ok and pathlib.Path(screenshot).is_file() \
            and pathlib.Path(screenshot).stat().st_size > 10000
    return ok, report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="folder for the page and the probe (default: a temp one)")
    parser.add_argument("--screenshot", help="PNG to write (default: view.png in --out)")
    parser.add_argument("--no-jax", action="store_true", help="leave out the JAX tab")
    parser.add_argument("--pin", default="12", help="original line whose block the "
                        "screenshot shows pinned ('' for none)")
    parser.add_argument("--window", default="1280,720", help="the screenshot's size, W,H")
    args = parser.parse_args(argv)
    from transgrad import view
    out = pathlib.Path(args.out or tempfile.mkdtemp(prefix="tg-view-"))
    out.mkdir(parents=True, exist_ok=True)
    page = view.page(quickstart_derivative(), jax=False if args.no_jax else None)
    (out / "view.html").write_text(page, encoding="utf-8")
    screenshot = args.screenshot or out / "view.png"
    ok, report = check(page, out, screenshot, args.pin or None, window=args.window)
    print(json.dumps(report, indent=1))
    print(f"page: {out / 'view.html'}")
    if ok is None:
        print("skipped: no chromium")
        return 2
    print("all checks passed" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
