"""JupyterLab in headless Chromium, as a user meets it: shared by tests/test_browser.py and tools/browser_latency.py.

`lab_server(root, tmp)` serves `root` on 127.0.0.1 (a free port, a token, its own settings/workspaces/runtime folders,
--allow-root when root) and stops the server's whole process group whatever happens; `open_notebook` opens a notebook
in a page and waits for its kernel (idle and connected); `run_all` runs every cell from the Run menu, as a user does
(`run_all_pages`: several notebooks at once, each in its own page).
Chromium is Debian's (/usr/bin/chromium) driven by Playwright (no browser download). Selectors are JupyterLab 4.6's.
"""
import contextlib, json, os, secrets, shutil, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
BIN = Path(sys.executable).parent          # the venv's console scripts (jupyter) live beside its python
PANEL = '.jp-NotebookPanel:not(.lm-mod-hidden)'

def free_port()->int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r: return json.load(r)

def stop_lab(proc:subprocess.Popen):
    "SIGTERM the server's own process group (it shuts its kernels down), SIGKILL if it lingers."
    if proc.poll() is not None: return
    os.killpg(proc.pid, signal.SIGTERM)
    try: proc.wait(30)
    except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait(10)

@contextlib.contextmanager
def lab_server(root:Path, tmp:Path, env:dict|None=None, bin_dir:Path=BIN, start_timeout:float=120):
    ("JupyterLab serving `root` on 127.0.0.1, its state under `tmp`, `env` added to its (and its kernels') environment; "
     "yields {'url', 'token', 'root', 'log'}. Stopped by process group at the end.")
    tmp, root = Path(tmp), Path(root)
    settings = tmp/'settings'/'@jupyterlab'/'apputils-extension'; settings.mkdir(parents=True, exist_ok=True)
    (settings/'notification.jupyterlab-settings').write_text(json.dumps({'fetchNews': 'false', 'checkForUpdates': False}))
    port, token = free_port(), secrets.token_hex(16)
    full_env = {**os.environ, **(env or {}), 'JUPYTER_RUNTIME_DIR': str(tmp/'runtime'),
                'PATH': f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    cmd = [str(Path(bin_dir)/'jupyter'), 'lab', '--no-browser', '--ip=127.0.0.1', f'--port={port}', '--ServerApp.port_retries=0',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}', f'--LabApp.user_settings_dir={tmp/"settings"}',
           f'--LabApp.workspaces_dir={tmp/"workspaces"}'] + (['--allow-root'] if os.geteuid() == 0 else [])
    log_path = tmp/'server.log'
    log = open(log_path, 'w')
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=full_env)
    url = f'http://127.0.0.1:{port}'
    try:
        for _ in range(int(start_timeout*2)):
            assert proc.poll() is None, f'jupyter lab exited with status {proc.returncode}: ' + log_path.read_text()[-2000:]
            try: get_json(f'{url}/api/status?token={token}'); break
            except OSError: time.sleep(0.5)
        else: raise TimeoutError(f'JupyterLab did not answer in {start_timeout:g} s (log: {log_path})')
        yield {'url': url, 'token': token, 'root': root, 'log': log_path}
    finally:
        stop_lab(proc)
        log.close()

@contextlib.contextmanager
def chromium(executable:str=CHROMIUM):
    "Headless Debian Chromium through Playwright."
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, headless=True)
        try: yield b
        finally: b.close()

STATE = """() => { const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)'); if (!p) return null;
  const i = p.querySelector('.jp-Notebook-ExecutionIndicator');
  const prompts = [...p.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(e => e.textContent);
  return {status: i ? i.dataset.status : null, running: prompts.filter(t => t.includes('*')).length,
          done: prompts.filter(t => /\\[\\d+\\]/.test(t)).length, cells: prompts.length}; }"""

def kernel_of(lab:dict, name:str)->dict|None:
    "The kernel of notebook `name` as the server sees it (execution_state, connections), or None."
    s = [x for x in get_json(f"{lab['url']}/api/sessions?token={lab['token']}") if x['path'].endswith(name)]
    return s[0]['kernel'] if s else None

def open_notebook(b, lab:dict, name:str, viewport:dict|None=None, shots:Path|None=None, timeout:float=120):
    "A new page on notebook `name`, returned once its kernel is idle and connected (so that a Run All is not lost)."
    page = b.new_page(viewport=viewport or {'width': 1400, 'height': 1000})
    # `reset`: a fresh workspace, so the notebooks of earlier pages are not reopened in hidden tabs
    page.goto(f"{lab['url']}/lab/tree/{name}?reset&token={lab['token']}", wait_until='domcontentloaded', timeout=timeout*1000)
    page.wait_for_selector('.jp-NotebookPanel .jp-Cell', state='attached', timeout=timeout*1000)
    for _ in range(int(timeout*2)):
        k = kernel_of(lab, name)
        if k and k['execution_state'] == 'idle' and k.get('connections', 0) >= 1: break
        time.sleep(0.5)
    else:
        if shots: page.screenshot(path=str(Path(shots)/f'{Path(name).stem}_no_kernel.png'))
        raise TimeoutError(f'the kernel of {name} did not start: {k}')
    return page

def start_run_all(page):
    "Run > Run All Cells, as a user does (again if nothing got queued)."
    for _ in range(3):
        page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click()
        page.locator('li.lm-Menu-item[data-command="runmenu:run-all"]').click()
        for _ in range(40):
            st = page.evaluate(STATE)
            if st and (st['running'] or st['done']): return
            time.sleep(0.5)
    raise RuntimeError('Run All queued no cell (three tries)')

BARS = "() => !!document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output progress')"

def run_all_pages(open_page, names:list, at_once:int=2, timeout=900)->dict:
    ("Run All of each notebook in `names`, `at_once` of them at a time, each in its own page (`open_page(name)`); "
     "returns {name: (page, state)} once each ran every cell and its kernel is idle. The state says whether HTML "
     "progress bars were drawn while it ran, and how many seconds its Run All took.")
    todo, active, done = list(names), {}, {}
    while todo or active:
        while todo and len(active) < at_once:
            name = todo.pop(0); page = open_page(name); start_run_all(page)
            active[name] = {'page': page, 't0': time.time(), 'calm': 0, 'bars': False}
        for name, a in list(active.items()):
            st = a['page'].evaluate(STATE)
            a['bars'] = a['bars'] or a['page'].evaluate(BARS)
            a['calm'] = a['calm'] + 1 if st and st['status'] == 'idle' and st['running'] == 0 else 0
            if a['calm'] >= 3:
                done[name] = (a['page'], {**st, 'progress_bars_seen': a['bars'], 'seconds': round(time.time() - a['t0'], 1)})
                del active[name]
            elif time.time() - a['t0'] > timeout: raise TimeoutError(f'Run All of {name} did not finish in {timeout} s: {st}')
        time.sleep(1)
    return done

def run_all(page, timeout=900):
    "Run All of the notebook open in `page`, then wait until every cell ran and the kernel is idle."
    return run_all_pages(lambda _: page, [None], timeout=timeout)[None][1]
