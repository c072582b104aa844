"""The notebooks as a user meets them: JupyterLab in headless Chromium at 1400x900, Run All of each exploration notebook (their
panels at the demo's and at the paper's scale), of 13_predict and 05_train; then the transfer explorer's K slider moved, a
confusion cell clicked, and a screenshot of every live panel.

Needs Debian's `chromium` (`make browser` installs it) and the `playwright` package (a dev requirement; no browser download:
it drives /usr/bin/chromium). JupyterLab runs on 127.0.0.1 on a free port with a token, on a copy of the notebooks, with
REST_NB_QUICK=1 so that the notebooks share the short demo run of the tests; the server is stopped (its whole process group)
whatever happens. Two notebooks run at a time, their kernels on one torch thread each (the two cores). Screenshots go to
test-artifacts/.
"""
import json, re, shutil, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import BIN, ROOT
from rest_nb.core import cache_dir
sys.path.insert(0, str(ROOT/'tools'))
import lab_driver
from lab_driver import CHROMIUM, run_all_pages               # JupyterLab and Chromium start-up, shared with tools/browser_latency.py

ARTIFACTS = ROOT/'test-artifacts'
VIEWPORT = {'width': 1400, 'height': 900}
EXPLORERS = ['09_explore_transfer.ipynb', '10_explore_relatedness.ipynb', '11_explore_prototypes.ipynb', '12_explore_confusion.ipynb']
NOTEBOOKS = EXPLORERS + ['13_predict.ipynb', '05_train.ipynb']
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason='needs chromium (make browser, or apt-get install chromium)')

@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    "JupyterLab on 127.0.0.1 over a copy of nbs/, stopped by process group at the end."
    tmp = tmp_path_factory.mktemp('lab')
    proj = tmp/'project'                                      # a copy of the project: the notebooks' own nbdev_export cell writes there
    for d in ('nbs', 'rest_nb'): shutil.copytree(ROOT/d, proj/d, ignore=shutil.ignore_patterns('.ipynb_checkpoints', '__pycache__'))
    shutil.copy(ROOT/'settings.ini', proj)
    with lab_driver.lab_server(proj/'nbs', tmp, env={'REST_NB_QUICK': '1', 'OMP_NUM_THREADS': '1'}, bin_dir=BIN) as lab: yield lab

@pytest.fixture(scope='module')
def browser():
    with lab_driver.chromium(CHROMIUM) as b: yield b

def open_notebook(b, lab, name):
    ARTIFACTS.mkdir(exist_ok=True)
    return lab_driver.open_notebook(b, lab, name, viewport=VIEWPORT, shots=ARTIFACTS)

def save(page, path:Path)->dict:
    "Save the notebook from the page and read it back."
    before = path.stat().st_mtime_ns
    page.keyboard.press('ControlOrMeta+s')
    for _ in range(60):
        if path.stat().st_mtime_ns != before: break
        time.sleep(0.5)
    time.sleep(1)
    return json.loads(path.read_text())

def outputs(nb):
    return [o for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', [])]

class Ran(dict):
    "Notebook name -> {page, st, nb}: Run All of a notebook in its own page the first time it is asked for, kept open."
    def __init__(self, lab, browser): super().__init__(); self.lab, self.browser = lab, browser
    def run(self, names:list):
        "Run All of the notebooks of `names` not run yet, two at a time (one per core)."
        todo = [n for n in names if n not in self]
        for name, (page, st) in run_all_pages(lambda n: open_notebook(self.browser, self.lab, n), todo, at_once=2).items():
            self[name] = {'page': page, 'st': st, 'nb': save(page, self.lab['root']/name)}
    def __missing__(self, name):
        self.run([name]); return self[name]

@pytest.fixture(scope='module')
def ran(lab, browser):
    "Each notebook run once (when a test first needs it), its kernel and widgets alive for the tests after it."
    r = Ran(lab, browser)
    try: yield r
    finally:
        for v in r.values(): v['page'].close()

def test_notebooks_run_all(ran):
    "Every cell runs, no error output, no broken widget; 05 draws HTML progress bars and its graph; no unusable cache entry."
    t0 = time.time()
    ran.run(NOTEBOOKS)
    print('Run All, seconds (two notebooks at a time):', {n: ran[n]['st']['seconds'] for n in NOTEBOOKS})
    for name in NOTEBOOKS:
        r = ran[name]
        page, st, nb = r['page'], r['st'], r['nb']
        errors = [f"{o['ename']}: {o['evalue'][:200]}" for o in outputs(nb) if o['output_type'] == 'error']
        assert not errors, (name, errors)
        assert st['done'] == st['cells'], (name, st)
        broken = page.evaluate("() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output')].map(e => e.innerText)"
                               ".filter(t => /Error displaying widget|model not found|Failed to load model/i.test(t))")
        assert not broken, (name, broken)
        page.screenshot(path=str(ARTIFACTS/f'{Path(name).stem}.png'))
        if name == '05_train.ipynb':
            assert st['progress_bars_seen'], 'fastprogress drew no HTML progress bar while training'
            assert any('image/png' in o.get('data', {}) for o in outputs(nb)), 'no live training graph'
            assert not any("Couldn't import ipywidgets" in ''.join(o.get('text', '')) for o in outputs(nb))
    # a frame cache the notebooks built names videos that are still there: none is left for a temporary folder
    new = [i for i in cache_dir().glob('frames/[!.]*/index.json') if i.stat().st_mtime >= t0]
    gone = {str(i.parent.name): v for i in new for v in json.loads(i.read_text()).get('videos', []) if not Path(v).exists()}
    assert not gone, f"frame caches of videos that no longer exist (no later run can use them): {gone}"

PANELS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output:has(.widget-slider)"

def to_top(loc):
    "Scroll the notebook so that `loc`'s top is at the top of the view."
    loc.evaluate("e => e.scrollIntoView({block: 'start'})"); loc.page.wait_for_timeout(300)

def demo_panel(ran, name:str):
    "The page of notebook `name` and its first live panel (the demo run's), scrolled to its top."
    page = ran[name]['page']
    panel = page.locator(PANELS).first
    to_top(panel)
    return page, panel

def test_screenshots_of_every_live_panel(ran):
    "Each explorer's live panels (the demo's and the paper's scale), each scrolled into view and saved at 1400x900."
    shots = []
    for name in EXPLORERS:
        page = ran[name]['page']
        panels = page.locator(PANELS)
        assert panels.count() == 2, (name, panels.count())               # the demo run's panel and the paper-scale one
        for i in range(panels.count()):
            to_top(panels.nth(i))
            assert panels.nth(i).locator('.widget-slider').count() == 3   # K, tau, rho, drawn
            shot = ARTIFACTS/f'{Path(name).stem}_panel{i}.png'
            page.screenshot(path=str(shot)); shots.append(shot)
    assert all(s.stat().st_size > 20_000 for s in shots)

def test_moving_k_updates_the_transfer_explorer(ran):
    "Move K one step: the readout shows the library's top-1 for the new K, and the adjacency is redrawn for it."
    page, panel = demo_panel(ran, '09_explore_transfer.ipynb')
    readout = panel.locator('.rest-readout .rest-top1').first
    k_slider = panel.locator('.widget-slider', has=page.locator('label', has_text=re.compile(r'^K$'))).first
    k_before = k_slider.locator('.widget-readout').inner_text()
    top1_before = readout.inner_text()
    title = lambda: panel.locator('.rest-adjacency b').first.inner_text()
    title_before = title()
    handle = k_slider.locator('.noUi-handle').first
    at_end = handle.get_attribute('aria-valuenow') == handle.get_attribute('aria-valuemax')
    handle.focus()
    page.keyboard.press('ArrowLeft' if at_end else 'ArrowRight')          # one step, as a user's arrow key does
    page.wait_for_function("k => { const r = [...document.querySelectorAll('.widget-slider')].find(s => s.querySelector('label')?.textContent === 'K');"
                           " return r && r.querySelector('.widget-readout').textContent !== k; }", arg=k_before, timeout=30_000)
    k_after = k_slider.locator('.widget-readout').inner_text()
    page.wait_for_function("t => document.querySelector('.rest-adjacency b')?.textContent !== t", arg=title_before, timeout=30_000)
    page.screenshot(path=str(ARTIFACTS/'transfer_explorer_after_k.png'))
    # what the library computes for the new K, the other sliders at the cross-validated choice
    code = ("import os, json; os.environ['REST_NB_QUICK'] = '1'\nfrom rest_nb.explore import explore\nex = explore()\n"
            f"K = None if {k_after!r} == 'off' else int({k_after!r})\n"
            "from rest_nb.transfer import Constraints\n"
            "print(json.dumps(ex.evaluator('target_a').evaluate(Constraints(K, ex.chosen.tau, ex.chosen.rho))['0/100']['top1']))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    expected = f"{100*json.loads(r.stdout.strip().splitlines()[-1]):.1f}%"
    page.wait_for_function("e => document.querySelector('.rest-readout .rest-top1')?.textContent === e", arg=expected, timeout=30_000)
    assert readout.inner_text() == expected and k_after != k_before, (k_before, k_after, top1_before, readout.inner_text())
    assert title().startswith(f"adjacency A for K={k_after},") and title() != title_before, (title_before, title())

def test_clicking_a_confusion_cell_moves_the_class_picker(ran):
    "Click cell (row 2, column 1) of the live confusion matrix: the 'true class' picker, the details and the frames all name row 2's class."
    page, panel = demo_panel(ran, '12_explore_confusion.ipynb')
    plot = panel.locator('.js-plotly-plot').first
    to_top(plot)
    page.wait_for_function("g => !!(g.data && g.data[0] && g.data[0].y)", arg=plot.element_handle(), timeout=30_000)  # drawn
    names = plot.evaluate("g => g.data[0].y")                              # the classes in the matrix's order, top to bottom
    box = plot.locator('.nsewdrag').first.bounding_box()
    n, r, c = len(names), 2, 1
    page.mouse.click(box['x'] + (c + 0.5)*box['width']/n, box['y'] + (r + 0.5)*box['height']/n)
    picker = panel.locator('.widget-inline-hbox', has=page.locator('label', has_text='true class')).locator('input').first
    page.wait_for_function("([el, v]) => el.value === v", arg=[picker.element_handle(), names[r]], timeout=30_000)
    details = panel.locator('.widget-html', has_text='top-1').first
    page.wait_for_function("([el, v]) => el.innerText.includes(v)", arg=[details.element_handle(), f"predicted as {names[c]}"],
                           timeout=30_000)
    assert details.inner_text().startswith(names[r]), details.inner_text()[:200]
    frames = panel.locator('.widget-html', has_text=re.compile('misclassified video')).first.inner_text()
    assert names[r] in frames, frames[:300]
    page.screenshot(path=str(ARTIFACTS/'confusion_after_click.png'))

def test_predicting_with_my_own_labels(ran):
    "13_predict's panel: type label names of one's own (one without a word vector), press predict: every row is ranked over those."
    page = ran['13_predict.ipynb']['page']
    panel = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output:has(textarea)').first
    panel.scroll_into_view_if_needed()
    area = panel.locator('textarea').first
    before = [l for l in area.input_value().splitlines() if l.strip()]
    mine = ['spin wheel', 'roll box', 'glorp disk']                          # 'glorp' has no word vector
    assert not set(mine[1:]) & set(before), before
    area.fill('\n'.join(mine))                                             # typed, as a user does (the widget syncs on input)
    # the notebook's last cells left the panel on a folder of broken files: back to the demo's target videos
    from rest_nb.demo import demo_bench
    folder = panel.locator('.widget-text', has=page.locator('label', has_text=re.compile(r'^folder$'))).locator('input').first
    folder.fill(str(demo_bench()/'target_a'))
    videos = panel.locator('select[multiple]').first
    page.wait_for_function("el => el.options.length > 3 && /bounce|roll|spin|fall|shake|zigzag|orbit|shrink/.test(el.options[0].text)",
                           arg=videos.element_handle(), timeout=60_000)
    videos.select_option(index=[0, 1, 2])
    panel.locator('button', has_text='predict').first.click()
    try: page.wait_for_function("el => /glorp/.test(el.innerText) && /Label policy/.test(el.innerText)",
                                arg=panel.element_handle(), timeout=120_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS/'predict_own_labels_timeout.png'))
        raise AssertionError(f"no prediction with the labels typed: {panel.inner_text()[:1500]!r}") from None
    page.wait_for_function("([el, old]) => !el.innerText.includes(old)", arg=[panel.element_handle(), before[0]], timeout=120_000)
    page.wait_for_function("el => /spin wheel|roll box/.test(el.innerText)", arg=panel.element_handle(), timeout=120_000)
    text = panel.inner_text()                                              # (a textarea's value is not in innerText)
    assert "'glorp' is not in the word vectors" in text and 'zorbify' not in text, text[:2000]
    page.screenshot(path=str(ARTIFACTS/'predict_own_labels.png'))

def test_make_test_leaves_to_this_test_exactly_its_notebooks():
    "`make test`'s nbdev_test skips the notebooks this file runs with Run All (they are not run twice), and only those."
    r = subprocess.run(['make', '-n', 'test'], cwd=ROOT, capture_output=True, text=True, timeout=60)
    line = next(l for l in r.stdout.splitlines() if 'nbdev_test' in l)
    skip = re.search(r"--skip_file_re '([^']+)'", line)[1]
    skipped = {p.name for p in (ROOT/'nbs').glob('*.ipynb') if re.search(skip, p.name)}
    assert skipped == set(NOTEBOOKS), (skipped ^ set(NOTEBOOKS), line)
