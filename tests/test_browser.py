"""The notebooks as a user meets them: JupyterLab in headless Chromium, Run All, and the transfer explorer's K slider moved.

Needs Debian's `chromium` (`make browser` installs it) and the `playwright` package (a dev requirement; no browser download:
it drives /usr/bin/chromium). JupyterLab runs on 127.0.0.1 on a free port with a token, on a copy of the notebooks, with
REST_NB_QUICK=1 so that the notebooks share the short demo run of the tests; the server is stopped (its whole process group)
whatever happens. Screenshots go to test-artifacts/.
"""
import json, os, re, secrets, shutil, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from conftest import BIN, ROOT

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
ARTIFACTS = ROOT/'test-artifacts'
NOTEBOOKS = ['09_explore_transfer.ipynb', '10_explore_relatedness.ipynb', '11_explore_prototypes.ipynb', '12_explore_confusion.ipynb',
             '05_train.ipynb']
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason='needs chromium (make browser, or apt-get install chromium)')

def free_port()->int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r: return json.load(r)

@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    "JupyterLab on 127.0.0.1 over a copy of nbs/, stopped by process group at the end."
    tmp = tmp_path_factory.mktemp('lab')
    proj = tmp/'project'                                      # a copy of the project: the notebooks' own nbdev_export cell writes there
    for d in ('nbs', 'rest_nb'): shutil.copytree(ROOT/d, proj/d, ignore=shutil.ignore_patterns('.ipynb_checkpoints', '__pycache__'))
    shutil.copy(ROOT/'settings.ini', proj)
    root = proj/'nbs'
    settings = tmp/'settings'/'@jupyterlab'/'apputils-extension'; settings.mkdir(parents=True)
    (settings/'notification.jupyterlab-settings').write_text(json.dumps({'fetchNews': 'false', 'checkForUpdates': False}))
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, 'REST_NB_QUICK': '1', 'JUPYTER_RUNTIME_DIR': str(tmp/'runtime'), 'PATH': f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    cmd = [str(BIN/'jupyter'), 'lab', '--no-browser', '--ip=127.0.0.1', f'--port={port}', '--ServerApp.port_retries=0',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}', f'--LabApp.user_settings_dir={tmp/"settings"}',
           f'--LabApp.workspaces_dir={tmp/"workspaces"}'] + (['--allow-root'] if os.geteuid() == 0 else [])
    log = open(tmp/'server.log', 'w')
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    url = f'http://127.0.0.1:{port}'
    try:
        for _ in range(240):
            assert proc.poll() is None, (tmp/'server.log').read_text()[-2000:]
            try: get_json(f'{url}/api/status?token={token}'); break
            except OSError: time.sleep(0.5)
        else: raise TimeoutError('JupyterLab did not answer in 120 s')
        yield {'url': url, 'token': token, 'root': root}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try: proc.wait(30)
            except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait(10)
        log.close()

@pytest.fixture(scope='module')
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()

STATE = """() => { const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)'); if (!p) return null;
  const i = p.querySelector('.jp-Notebook-ExecutionIndicator');
  const prompts = [...p.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(e => e.textContent);
  return {status: i ? i.dataset.status : null, running: prompts.filter(t => t.includes('*')).length,
          done: prompts.filter(t => /\\[\\d+\\]/.test(t)).length, cells: prompts.length}; }"""

def open_notebook(b, lab, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page = b.new_page(viewport={'width': 1400, 'height': 1000})
    # `reset`: a fresh workspace, so the notebooks of earlier pages are not reopened in hidden tabs
    page.goto(f"{lab['url']}/lab/tree/{name}?reset&token={lab['token']}", wait_until='domcontentloaded', timeout=120_000)
    page.wait_for_selector('.jp-NotebookPanel .jp-Cell', state='attached', timeout=120_000)
    for _ in range(240):                                      # the kernel started, idle and connected: a Run All is not lost
        s = [x for x in get_json(f"{lab['url']}/api/sessions?token={lab['token']}") if x['path'].endswith(name)]
        if s and s[0]['kernel']['execution_state'] == 'idle' and s[0]['kernel'].get('connections', 0) >= 1: break
        time.sleep(0.5)
    else:
        page.screenshot(path=str(ARTIFACTS/f'{Path(name).stem}_no_kernel.png'))
        raise TimeoutError(f'the kernel of {name} did not start: {s}')
    return page

def run_all(page, timeout=900):
    "Run > Run All Cells, as a user does (again if nothing got queued), then wait until every cell ran and the kernel is idle."
    for _ in range(3):
        page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click()
        page.locator('li.lm-Menu-item[data-command="runmenu:run-all"]').click()
        for _ in range(40):
            st = page.evaluate(STATE)
            if st and (st['running'] or st['done']): break
            time.sleep(0.5)
        else: continue
        break
    t0, calm, bars = time.time(), 0, False
    while time.time() - t0 < timeout:
        st = page.evaluate(STATE)
        bars = bars or page.evaluate("() => !!document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output progress')")
        calm = calm + 1 if st and st['status'] == 'idle' and st['running'] == 0 else 0
        if calm >= 3: return {**st, 'progress_bars_seen': bars}
        time.sleep(1)
    raise TimeoutError(f'Run All did not finish in {timeout} s: {st}')

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

def test_notebooks_run_all(lab, browser):
    "Each exploration notebook and 05_train, Run All: every cell runs, no error output, no broken widget; 05 draws HTML bars and its graph."
    ARTIFACTS.mkdir(exist_ok=True)
    for name in NOTEBOOKS:
        page = open_notebook(browser, lab, name)
        st = run_all(page)
        nb = save(page, lab['root']/name)
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
        page.close()

def test_moving_k_updates_the_transfer_explorer(lab, browser):
    "Move K one step: the readout shows the library's top-1 for the new K, and the adjacency heatmap re-renders."
    page = open_notebook(browser, lab, '09_explore_transfer.ipynb')
    run_all(page)
    readout = page.locator('.rest-readout .rest-top1').first
    k_slider = page.locator('.widget-slider', has=page.locator('label', has_text=re.compile(r'^K$'))).first
    k_before = k_slider.locator('.widget-readout').inner_text()
    top1_before = readout.inner_text()
    title = lambda: page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map(g => g.layout && g.layout.title && "
                                  "(g.layout.title.text || g.layout.title)).filter(t => t && String(t).startsWith('adjacency'))[0]")
    title_before = title()
    handle = k_slider.locator('.noUi-handle').first
    at_end = handle.get_attribute('aria-valuenow') == handle.get_attribute('aria-valuemax')
    handle.focus()
    page.keyboard.press('ArrowLeft' if at_end else 'ArrowRight')          # one step, as a user's arrow key does
    page.wait_for_function("k => { const r = [...document.querySelectorAll('.widget-slider')].find(s => s.querySelector('label')?.textContent === 'K');"
                           " return r && r.querySelector('.widget-readout').textContent !== k; }", arg=k_before, timeout=30_000)
    k_after = k_slider.locator('.widget-readout').inner_text()
    page.wait_for_function("t => { const g = [...document.querySelectorAll('.js-plotly-plot')].map(g => g.layout && g.layout.title && "
                           "(g.layout.title.text || g.layout.title)).filter(t => t && String(t).startsWith('adjacency'))[0]; return g && g !== t; }",
                           arg=title_before, timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS/'transfer_explorer_after_k.png'))
    # what the library computes for the new K, the other sliders at the cross-validated choice
    code = ("import os, json; os.environ['REST_NB_QUICK'] = '1'\nfrom rest_nb.explore import explore\nex = explore()\n"
            f"K = None if {k_after!r} == 'off' else int({k_after!r})\n"
            "print(json.dumps(ex.evaluator('target_a').run(K, ex.cv['tau'], ex.cv['rho'])['0/100']['top1']))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    expected = f"{100*json.loads(r.stdout.strip().splitlines()[-1]):.1f}%"
    page.wait_for_function("e => document.querySelector('.rest-readout .rest-top1')?.textContent === e", arg=expected, timeout=30_000)
    assert readout.inner_text() == expected and k_after != k_before, (k_before, k_after, top1_before, readout.inner_text())
    assert title() != title_before
    page.close()
