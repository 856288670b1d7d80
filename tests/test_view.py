"""The derivative view (transgrad/view.py): HTML structure, links, highlighting and its
fallback, errors, the CLI page, and the page in a real (headless) browser."""

import importlib.util
import pathlib
import re
import shutil
import sys

import numpy as np
import pytest

import transgrad as tg
from transgrad import view, view_html
from transgrad.__main__ import main as cli

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))
from quickstart import loss

rng = np.random.default_rng(0)
SHAPES = [(8, 32), (32, 1), (256, 8), (256, 1)]


def quickstart_args():
    return [rng.normal(size=s) for s in SHAPES]


def called_loss():
    d = tg.value_and_grad(loss, wrt=(0, 1))
    d(*quickstart_args())
    return d


def helper(a, b):
    return np.tanh(a @ b)


def calls_helper(w, x):
    return np.sum(helper(x, w) ** 2)


def multi_line(x):
    y = np.where(x < 0.5,
                 x,
                 2.0 * x)
    return np.sum(y * y)


def scalar(a, b):
    c = a * a * b
    return np.sin(c) + c


def unsupported(x):
    y = 2.0 * x
    try:
        z = y
    except ValueError:
        z = 0.0
    return z


class Layer:
    def __init__(self, w):
        self.w = w

    def forward(self, x):
        return np.tanh(x @ self.w)


def through_layer(layer, x):
    return np.sum(layer.forward(x) ** 2)


def panels_of(fragment):
    """{label: panel html} of a rendered view."""
    parts = re.split(r'(?=<div class="tg-panel tg-p\d+")', fragment)[1:]
    found = {}
    for part in parts:
        label = re.match(r'<div class="tg-panel tg-p\d+" data-label="([^"]*)"', part).group(1)
        found[label] = part
    return found


def check_links(panel_html, derivative_text):
    """Every ``# grad of line N`` comment is a link to the original's line N, which exists
    in the same panel and shows N; returns the lines linked."""
    comments = [int(n) for n in re.findall(r"# grad of line (\d+)", derivative_text)]
    links = re.findall(r'<a class="tg-link c1" href="#([\w-]+)-o(\d+)" data-line="(\d+)"',
                       panel_html)
    assert comments and [int(n) for _, n, _ in links] == comments
    for pid, n, data in links:
        assert n == data
        target = re.search(rf'<span id="{pid}-o{n}"[^>]*><span class="tg-ln">{n}</span>',
                           panel_html)
        assert target, f"no original line {n}"
        assert f'data-tg="{n}"' in target.group(0)
    return comments


def test_quickstart_view_tabs_panes_and_links():
    d = called_loss()
    fragment = view.html(d, jax=False)
    assert fragment == fragment.strip() and fragment.startswith('<div class="tg-view"')
    panels = panels_of(fragment)
    assert list(panels)[:3] == ["exact shapes", "ranks", "general"]
    _, _, collected = view.collect(d, jax=False)
    assert collected[0].derivative.text == d.source      # the code the last call ran
    assert "tgr.unbroadcast_to" not in collected[0].derivative.text
    assert "np.ndim(h) == 2" in collected[2].derivative.text   # general: decided at run time
    for panel in collected:
        html = panels[panel.label]
        assert html.count('class="tg-pane tg-original"') == 1
        assert html.count('class="tg-pane tg-derivative"') == 1
        assert "def loss(w1, w2, x, y)" in re.sub(r"<[^>]+>", "", html)
        assert check_links(html, panel.derivative.text) == [14, 13, 12]
    assert "(8, 32) float64" in collected[0].note
    # the forward sweep is linked too: t1 = x @ w1 and h = np.maximum(t1, 0.0) compute line 12
    for panel in collected:
        lines = panel.derivative.text.split("\n")
        # exact code spells the mean as the array's method (exact_spelling)
        mean = "t4 = np.mean(t3)" if "np.mean(t3)" in panel.derivative.text \
            else "t4 = t3.mean()"
        assert {lines[k].strip(): n for k, n in panel.primal.items()} == {
            "t1 = x @ w1": 12, "h = np.maximum(t1, 0.0)": 12, "out = h @ w2": 13,
            "t2 = out - y": 14, "t3 = t2 ** 2": 14, mean: 14}
        assert len(re.findall(r'<span class="tg-line" data-tg="12">', panels[panel.label])) \
            == 2 + 4 + (panel.label == "general") * 3   # + if, else, its bw1
    # one radio per tab, the first checked; the tabs switch by CSS alone
    assert fragment.count('class="tg-radio"') == len(panels)
    assert fragment.count(" checked>") == 1


def test_adjoint_blocks_and_statement_owners():
    text = tg.grad(loss, wrt=(0, 1)).source
    blocks = view_html.grad_blocks(text)
    lines = text.split("\n")
    assert {lines[k].strip() for k, n in blocks.items() if n == 12} >= {
        "tie = 0.5 * (t1 == 0.0)", "bw1 = x.T @ bt1"}
    assert not any(lines[k].strip().startswith("return") for k in blocks)
    assert all(lines[k].startswith("    ") for k in blocks)
    code = view.source_code(multi_line)
    owners = view_html.statement_owners(code.text, code.first_line)
    first = code.first_line + 1
    assert [owners[first + k] for k in range(3)] == [first] * 3   # one statement, three lines
    fragment = view.html(tg.grad(multi_line), jax=False)
    panel = next(iter(panels_of(fragment).values()))
    assert len(re.findall(rf'data-tg="{first}"', panel)) >= 3 + 1   # its lines and its block


def test_pygments_highlighting_and_plain_fallback(monkeypatch):
    d = called_loss()
    highlighted = view.html(d, jax=False)
    assert '<span class="k">def</span>' in highlighted
    assert ".tg-code .k{" in highlighted
    for name in ("pygments", "pygments.lexers", "pygments.styles", "pygments.token"):
        monkeypatch.setitem(sys.modules, name, None)
    plain = view.html(d, jax=False)
    assert '<span class="k">' not in plain and ".tg-code .k{" not in plain
    text = re.sub(r"<[^>]+>", "", plain)
    assert "bt1 = bh * ((t1 &gt; 0.0) + tie)" in text      # escaped, not highlighted
    for html in panels_of(plain).values():
        assert html.count("tg-pane tg-") == 2
        assert check_links(html, re.sub(r"<[^>]+>", "", html).replace("&gt;", ">"))


def test_source_is_escaped():
    d = tg.grad(multi_line)
    d(np.linspace(0.0, 1.0, 5))
    fragment = view.html(d, jax=False)
    assert "x < 0.5" not in fragment
    assert "&lt;" in fragment


def test_called_functions_have_their_own_tab():
    d = tg.grad(calls_helper)
    w, x = rng.normal(size=(3, 2)), rng.normal(size=(5, 3))
    d(w, x)
    _, _, panels = view.collect(d, jax=False)
    callee = next(p for p in panels if p.label == "helper (called)")
    assert "def helper_fwd" in callee.derivative.text
    assert "def helper_bwd" in callee.derivative.text
    assert callee.original.text.startswith("def helper(a, b):")
    html = panels_of(view.html(d, jax=False))["helper (called)"]
    assert check_links(html, callee.derivative.text) == [callee.original.first_line + 1]
    lines = callee.derivative.text.split("\n")
    assert {lines[k].strip(): n for k, n in callee.primal.items()}["t1 = a @ b"] \
        == callee.original.first_line + 1


def test_code_for_the_last_call_shows_when_the_general_code_cannot_be_built():
    d = tg.grad(through_layer, wrt=1)
    assert "cannot build this derivative" in view.html(d, jax=False)   # before a call
    d(Layer(rng.normal(size=(3, 2))), rng.normal(size=(4, 3)))
    panels = view.collect(d, jax=False)[2]
    assert [p.label for p in panels] == ["ranks", "general", "forward (called)"]
    assert panels[0].derivative.text == d.own_source   # .source appends the called halves
    assert panels[1].error is not None and "forward" in panels[1].error.message
    assert "tg-message" in panels_of(view.html(d, jax=False))["general"]


def test_jax_tab_when_jax_imports():
    pytest.importorskip("jax")
    d = called_loss()
    _, _, panels = view.collect(d, jax=True)
    jax_panel = next(p for p in panels if p.label == "JAX")
    assert "jnp.maximum" in jax_panel.derivative.text
    lines = jax_panel.derivative.text.split("\n")
    assert {lines[k].strip() for k, n in jax_panel.primal.items() if n == 12} == {
        "t1 = x @ w1", "h = jnp.maximum(t1, 0.0)"}
    assert "JAX" in panels_of(d._repr_html_())          # the notebook hook: JAX when it imports
    assert "JAX" not in [p.label for p in view.collect(d, jax=False)[2]]


def test_forward_mode_lines_are_linked():
    j = tg.jvp(loss, wrt=(0, 1))
    args = quickstart_args()
    j(*args, (np.ones(SHAPES[0]), np.ones(SHAPES[1])))
    panel = view.collect(j, jax=False)[2][0]
    lines = panel.derivative.text.split("\n")
    linked = {lines[k].strip(): n for k, n in panel.primal.items()}
    assert linked["t1 = x @ w1"] == linked["dt1 = x @ dw1"] == 12
    assert linked["dh = dt1 * ((t1 > 0.0) + tie)"] == 12
    assert linked["dout = dh @ w2 + h @ dw2"] == 13
    assert linked["dt4 = np.mean(dt3)"] == 14
    html = view.html(j, jax=False)
    dout = next(k for k, line in enumerate(lines) if line.strip().startswith("dout ="))
    numbers = re.findall(r'class="tg-line" data-tg="13"><span class="tg-ln">(\d+)</span>', html)
    assert str(dout + 1) in numbers


def test_higher_order_views():
    w, x = rng.normal(size=(3, 2)), rng.normal(size=(5, 3))
    h = tg.hvp(calls_helper)
    h(w, x, np.ones_like(w))
    labels = list(panels_of(h._repr_html_()))
    # forward mode has code for exact shapes too: its pane first, then the rank code's
    assert labels[:2] == ["jvp: exact shapes", "jvp: ranks"] and "grad: general" in labels
    assert "jvp: helper_bwd (called, for these shapes)" in labels
    jac = tg.jacfwd(helper, wrt=(0, 1))
    jac(x, w)
    assert list(panels_of(view.html(jac, jax=False))) == ["jvp (a): ranks", "jvp (b): ranks"]
    # reverse over reverse: the original pane is the inner generated gradient, linked by line
    gg = tg.grad(tg.grad(scalar))
    gg(0.3, 2.0)
    _, _, panels = view.collect(gg, jax=False)
    assert panels[0].original.text.startswith("def dscalar(")
    html = panels_of(view.html(gg, jax=False))[panels[0].label]
    assert check_links(html, panels[0].derivative.text)


def test_transform_error_renders_its_line():
    with pytest.raises(tg.TransformError) as info:
        tg.grad(unsupported)(1.0)
    error = info.value
    fragment = error._repr_html_()
    code = view.source_code(unsupported)
    try_line = code.first_line + 2
    assert error.lineno == try_line
    assert re.search(rf'<span id="[\w-]+-o{try_line}" class="tg-line tg-bad">'
                     rf'<span class="tg-ln">{try_line}</span>', fragment)
    text = re.sub(r"<[^>]+>", "", fragment)
    assert "def unsupported(x):" in text and "return z" in text    # the whole function
    assert error.message in text and "Hint:" in text and error.hint in text
    # a derivative that cannot be built shows the same box instead of raising
    assert "cannot build this derivative" in tg.grad(unsupported)._repr_html_()
    # an error that points at no line: message and hint alone
    bare = tg.TransformError("wrt must be an int", hint="pass 0")._repr_html_()
    assert "wrt must be an int" in bare and "pass 0" in bare and "tg-line tg-bad" not in bare


def test_cli_writes_a_standalone_page(tmp_path, capsys):
    out = tmp_path / "loss.html"
    shapes = ",".join("x".join(map(str, s)) for s in SHAPES)
    assert cli(["show", f"{ROOT}/examples/quickstart.py:loss", "--wrt", "0,1", "--shapes",
                shapes, "--html", str(out)]) == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"https?://|src=|<link", page)          # nothing from the network
    assert list(panels_of(page))[:3] == ["exact shapes", "ranks", "general"]
    capsys.readouterr()
    assert cli(["show", f"{ROOT}/examples/quickstart.py:loss", "--wrt", "0,1"]) == 0
    assert capsys.readouterr().out == tg.grad(loss, wrt=(0, 1)).source
    with pytest.raises(SystemExit) as usage:
        cli(["show", f"{ROOT}/examples/quickstart.py:loss", "--shapes", "8xa"])
    assert usage.value.code == 2 and "expected shapes" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="failed: .*missing"):
        cli(["show", f"{ROOT}/examples/quickstart.py:loss", "--shapes", "8x32"])


def _browser_check():
    path = ROOT / "scripts" / "check_view_in_browser.py"
    spec = importlib.util.spec_from_file_location("check_view_in_browser", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(_browser_check().chromium() is None, reason="skipped: no chromium")
def test_page_in_headless_chromium(tmp_path):
    check = _browser_check()
    page = view.page(check.quickstart_derivative(), jax=False)
    shot = tmp_path / "view.png"
    ok, report = check.check(page, tmp_path, shot, pin_line="12")
    assert report["errors"] == [] and report["chromium_console_errors"] == []
    failed = [name for name, passed in report["checks"].items() if not passed]
    assert failed == [] and ok
    assert report["facts"]["links"] == report["facts"]["grad_comments"] == 3
    assert report["facts"]["highlighted_tokens"] > 50
    assert shot.stat().st_size > 10000


def test_browser_check_fails_on_a_broken_page(tmp_path):
    check = _browser_check()
    if check.chromium() is None:
        pytest.skip("skipped: no chromium")
    page = view.page(called_loss(), jax=False).replace(
        "</body>", "<script>undefinedFunction();</script></body>")
    ok, report = check.check(page, tmp_path)
    assert not ok and any("undefinedFunction" in e for e in report["errors"])


def test_no_chromium_is_reported(monkeypatch):
    check = _browser_check()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert check.check("<html></html>", ".") == (None, {"error": "skipped: no chromium"})


def test_ipython_display_uses_the_view():
    formatters = pytest.importorskip("IPython.core.formatters")
    formatter = formatters.DisplayFormatter()
    data, _ = formatter.format(tg.grad(loss, wrt=(0, 1)), include=["text/html", "text/plain"])
    assert data["text/plain"] == "<transgrad grad of loss>"
    assert "tg-original" in data["text/html"] and "tg-derivative" in data["text/html"]
    data, _ = formatter.format(tg.TransformError("no rule", hint="add one"),
                               include=["text/html"])
    assert "no rule" in data["text/html"] and "add one" in data["text/html"]


TWO_VIEWS_PROBE = """<script>
(function () {
  var views = document.querySelectorAll(".tg-view"), out = {errors: window.__tgErrors};
  function shown(v) {
    return Array.prototype.filter.call(v.querySelectorAll(".tg-panel"),
      function (p) { return p.offsetHeight > 0; }).map(function (p) { return p.dataset.label; });
  }
  out.ready = Array.prototype.map.call(views, function (v) { return v.dataset.tgReady; });
  var tabs = views[1].querySelectorAll(".tg-tabs label");
  tabs[tabs.length - 1].click();
  out.shown = [shown(views[0]), shown(views[1])];
  views[0].querySelector("a.tg-link").dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
  out.highlighted = [views[0].querySelectorAll(".tg-hl").length,
                     views[1].querySelectorAll(".tg-hl").length];
  var pre = document.createElement("pre"); pre.id = "tg-check";
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
})();
</script>"""


def test_two_views_on_one_page_stay_apart(tmp_path):
    """As in a notebook with two outputs: each view's tabs and highlighting are its own."""
    check = _browser_check()
    binary = check.chromium()
    if binary is None:
        pytest.skip("skipped: no chromium")
    d = tg.grad(calls_helper)
    d(rng.normal(size=(3, 2)), rng.normal(size=(5, 3)))
    fragments = view.html(called_loss(), jax=False) + view.html(d, jax=False)
    page = view_html.page(fragments, "two views").replace(
        "<head>", "<head>" + check.PROBE_HEAD, 1).replace("</body>", TWO_VIEWS_PROBE + "</body>")
    path = tmp_path / "two.html"
    path.write_text(page)
    result = check._run(binary, ["--virtual-time-budget=3000", "--dump-dom", path.as_uri()])
    found = re.search(r'<pre id="tg-check">(.*?)</pre>', result.stdout, re.DOTALL)
    import html
    import json
    report = json.loads(html.unescape(found.group(1)))
    assert report["errors"] == [] and report["ready"] == ["1", "1"]
    assert report["shown"] == [["exact shapes"], ["helper (called, for these shapes)"]]
    assert report["highlighted"][0] >= 2 and report["highlighted"][1] == 0
