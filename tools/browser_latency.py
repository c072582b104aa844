"""Latency a user feels in an explorer: from a control's input event in Chromium to the last DOM update of the notebook.

    .venv/bin/python tools/browser_latency.py [--setup CODE] [--env KEY=VALUE ...] [--moves N] [--warmup W] [--controls NAME ...]
                                              [--out FILE.json] [--screenshot FILE.png]

JupyterLab (127.0.0.1, a free port, a token, its own settings/workspaces/runtime folders in a temporary folder, stopped by
process group whatever happens) serves a temporary notebook whose one cell is CODE (default: the transfer explorer at
paper's scale: `paper_scale()`); headless Chromium (/usr/bin/chromium, viewport 1400x900) runs it and waits until the widget
is drawn. Then, for each control found by its label (sliders: the noUi handle is focused and ArrowRight/ArrowLeft pressed,
turning at the ends; dropdowns, toggle buttons and radio buttons: another option is picked), W moves (2) are made untimed
(the one-time costs of a view just drawn and of a page just loaded), then N moves are timed:
  ms         the input event's timeStamp (capturing listener on document: keydown, pointerdown, change, input) to the last
             mutation of the notebook's cells (MutationObserver: subtree, childList, characterData, attributes; the
             toolbar's kernel indicator is left out); the move is settled when the kernel is idle (/api/sessions) and
             nothing changed for --settle-ms (500 ms);
  painted_ms to the first task after the next animation frame following that last mutation (the browser's layout and
             paint of it, approximately);
  readout_ms to the first change of the text of the `.rest-readout` element (absent: null);
  kernel_ms  the kernel-side figures the readout states ("computed in N ms, figures sent in M ms" -> {label: ms}; absent: {});
  parts      per part of the view (each plotly plot by index and title, the readout, each slider/dropdown/HTML widget):
             its first and last mutation after the event and how many ('detached': nodes already removed from the page);
  long_tasks the page's main-thread tasks of >= 50 ms (PerformanceObserver 'longtask'): [start after the event, duration],
             i.e. where the browser itself was busy (a plot's redraw) rather than waiting for the kernel.
Per control: moves, median_ms, max_ms, first_readout_median_ms, painted_median_ms, long_tasks_median_ms (summed per move),
kernel_median_ms (each move's largest stated figure), rows (one per move, as above, with action, values before/after and
the event's type). Also: setup, command, env, machine (nproc, load average at start and end), viewport (as measured in
the page), versions, setup_s (Run All until the view is drawn), settle_ms, skipped.
Environment variables for the kernel (e.g. REST_NB_QUICK=1) must be given with --env: the server is started with them.
A control that is absent, or has a single option, is skipped and listed in `skipped`. Prints the JSON and writes it to
--out; --screenshot saves the 1400x900 page after the last move. Importable: `measure(setup=..., moves=...)` -> dict.
"""
import argparse, json, os, re, shlex, statistics, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab_driver
from lab_driver import CHROMIUM, PANEL

DEFAULT_SETUP = 'from rest_nb.explore import *; view = TransferExplorer(paper_scale()); view'
DEFAULT_CONTROLS = ('K', 'tau', 'rho', 'target set', 'protocol')
VIEWPORT = {'width': 1400, 'height': 900}
NOTEBOOK = 'latency.ipynb'

# Installed once the view is drawn. `__latArm()` starts a move (forgets earlier events), `__latRead()` reports it.
INSTRUMENT = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const L = window.__lat = {events: [], lastMut: null, nMut: 0, firstReadout: null, readoutText: null, painted: null, parts: {},
                            armed: false};
  const readout = () => { const r = panel.querySelector('.rest-readout'); return r ? r.textContent : null; };
  const elt = n => n.nodeType === 1 ? n : n.parentElement;
  const label = w => { const l = w.querySelector('label'); const t = l ? l.textContent.trim() : ''; return t ? ' ' + t : ''; };
  const part = e => {                                       // which part of the view a mutation belongs to
    if (!e) return 'other';
    if (!e.isConnected) return 'detached';                 // changed after (or just before) leaving the page
    if (e.closest('.jp-Toolbar')) return null;             // the kernel's busy/idle indicator: not the view
    const g = e.closest('.js-plotly-plot');
    if (g) { const t = g.layout && g.layout.title; const s = String((t && (t.text || t)) || '');
             return 'plot ' + [...panel.querySelectorAll('.js-plotly-plot')].indexOf(g) + ': ' + s.split(' ').slice(0, 3).join(' '); }
    if (e.closest('.rest-readout') || (e.querySelector && e.querySelector('.rest-readout'))) return 'readout';
    const w = e.closest('.widget-slider, .widget-dropdown, .widget-toggle-buttons, .widget-radio, .widget-html, .widget-button');
    if (w) return [...w.classList].find(c => /^widget-(slider|dropdown|toggle-buttons|radio|html|button)$/.test(c)) + label(w);
    return e.closest('.jp-OutputArea') ? 'output area' : 'notebook';
  };
  L.longTasks = [];                                         // the page's main thread busy >= 50 ms at a time
  try { new PerformanceObserver(l => { if (L.armed) for (const e of l.getEntries()) L.longTasks.push([e.startTime, e.duration]); })
          .observe({type: 'longtask'}); } catch (e) {}
  for (const t of ['keydown', 'pointerdown', 'change', 'input'])
    document.addEventListener(t, e => { if (L.armed) L.events.push({type: t, ts: e.timeStamp}); }, true);
  new MutationObserver(recs => {
    if (!L.armed) return;
    const now = performance.now(); let n = 0;
    for (const r of recs) {
      const k = part(elt(r.target)); if (k === null) continue; n++;
      const p = L.parts[k] || (L.parts[k] = {first: now, last: now, mutations: 0}); p.last = now; p.mutations++;
    }
    if (!n) return;
    L.lastMut = now; L.nMut += n;
    if (L.firstReadout === null && readout() !== L.readoutText) L.firstReadout = now;
    requestAnimationFrame(() => setTimeout(() => { if (L.lastMut === now) L.painted = performance.now(); }, 0));
  }).observe(panel, {subtree: true, childList: true, characterData: true, attributes: true});
  window.__latArm = () => Object.assign(L, {events: [], lastMut: null, nMut: 0, firstReadout: null, painted: null, parts: {},
                                            longTasks: [], readoutText: readout(), armed: true}) && true;
  window.__latRead = () => ({events: L.events, lastMut: L.lastMut, nMut: L.nMut, firstReadout: L.firstReadout,
                             painted: L.painted, parts: L.parts, longTasks: L.longTasks, now: performance.now(),
                             readout: (panel.querySelector('.rest-readout') || {}).innerText || null});
  return true; }"""

DRAWN = """() => { const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)'); if (!p) return false;
  const out = [...p.querySelectorAll('.jp-OutputArea-output')]; if (!out.length) return false;
  if (out.some(o => /Loading widget|Error displaying widget|model not found/i.test(o.innerText))) return false;
  if (!p.querySelector('.jp-OutputArea-output .jupyter-widgets')) return false;
  return [...p.querySelectorAll('.js-plotly-plot')].every(g => g.querySelector('.main-svg') && g.data); }"""

ERRORS = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
  .map(e => e.innerText).filter(t => /Traceback|^\\w*(Error|Exception)\\b/m.test(t))"""

KINDS = [('slider', '.widget-slider'), ('dropdown', '.widget-dropdown'), ('toggle', '.widget-toggle-buttons'), ('radio', '.widget-radio')]

def find_control(page, name:str):
    "(kind, locator) of the control whose description label reads `name`, or (None, None)."
    label = page.locator('label', has_text=re.compile(rf'^\s*{re.escape(name)}\s*$'))
    for kind, sel in KINDS:
        loc = page.locator(f'{PANEL} {sel}').filter(has=label)
        if loc.count(): return kind, loc.first
    return None, None

def slider_state(handle)->dict:
    v = handle.evaluate("h => [h.getAttribute('aria-valuenow'), h.getAttribute('aria-valuemin'), h.getAttribute('aria-valuemax')]")
    return dict(zip(('now', 'min', 'max'), map(float, v)))

def options_of(kind, loc)->tuple[list[str], int]:
    "The option texts of a choice control and the index of the chosen one."
    if kind == 'dropdown':
        return loc.locator('select').evaluate("s => [[...s.options].map(o => o.textContent), s.selectedIndex]")
    if kind == 'toggle':
        return loc.evaluate("w => { const b = [...w.querySelectorAll('button')]; return [b.map(x => x.textContent.trim()), b.findIndex(x => x.classList.contains('mod-active'))]; }")
    return loc.evaluate("w => { const r = [...w.querySelectorAll('input[type=radio]')]; return [r.map(x => x.parentElement.textContent.trim()), r.findIndex(x => x.checked)]; }")

def choose(kind, loc, i:int):
    "Pick option i as a user does (the select's choice, a click on the button or radio)."
    if kind == 'dropdown': loc.locator('select').select_option(index=i)
    elif kind == 'toggle': loc.locator('button').nth(i).click()
    else: loc.locator('input[type=radio]').nth(i).click()

KERNEL_FIGURE = re.compile(r'([^,;:.()\n]*?)\s*(\d+(?:\.\d+)?)\s*ms\b(?:\s*\(([^();]{1,30})\))?')

def kernel_figures(readout:str|None)->dict:
    ("The times the readout states, e.g. 'computed in 12 ms, figures sent in 30 ms' -> {'computed in': 12.0, 'figures "
     "sent in': 30.0} (the words before each number, and a short parenthesised label after it); {} when none.")
    out = {}
    for m in KERNEL_FIGURE.finditer(readout or ''):
        label = ' '.join(x.strip() for x in (m[1], m[3]) if x and x.strip()) or 'ms'
        out[label] = float(m[2])
    return out

def settle(page, lab, settle_ms:float, timeout:float, since:float|None=None)->dict:
    ("Poll until the kernel is idle and the notebook has not changed for `settle_ms` after the move's input event (or "
     "after `since`, a performance.now()); the move's record.")
    t0 = time.time()
    while True:
        time.sleep(0.1)
        r = page.evaluate('__latRead()')
        if time.time() - t0 > timeout: raise TimeoutError(f'the move did not settle in {timeout:g} s: {r["events"][:3]}')
        if since is None and not r['events']: continue
        last = max(r['lastMut'] or 0, since if since is not None else r['events'][0]['ts'])
        if r['now'] - last < settle_ms: continue
        k = lab_driver.kernel_of(lab, NOTEBOOK)
        if k and k['execution_state'] == 'idle': return r

def _ms(a, b): return None if a is None or b is None else round(a - b, 1)

def move(page, lab, kind, loc, settle_ms, timeout, direction:int=1)->tuple[dict, int]:
    "One move of a control, timed; (row, the direction of the next move)."
    page.evaluate('__latArm()')
    if kind == 'slider':
        handle, readout = loc.locator('.noUi-handle').first, loc.locator('.widget-readout').first
        s = slider_state(handle)
        if s['now'] >= s['max']: direction = -1
        elif s['now'] <= s['min']: direction = 1
        before = readout.inner_text()
        handle.focus()
        page.evaluate('__latArm()')                            # focusing may scroll the panel: start the move after it
        key = 'ArrowRight' if direction > 0 else 'ArrowLeft'
        page.keyboard.press(key)
        r = settle(page, lab, settle_ms, timeout)
        after, action = readout.inner_text(), key
    else:
        opts, i = options_of(kind, loc)
        j = (i + 1) % len(opts)
        before = opts[i] if i >= 0 else None
        choose(kind, loc, j)
        r = settle(page, lab, settle_ms, timeout)
        after, action = options_of(kind, loc)[0][j], f'choose {opts[j]!r}'
    ev = r['events'][0]
    return ({'action': action, 'before': before, 'after': after, 'event': ev['type'], 'ms': _ms(r['lastMut'], ev['ts']),
             'painted_ms': _ms(r['painted'], ev['ts']), 'readout_ms': _ms(r['firstReadout'], ev['ts']),
             'kernel_ms': kernel_figures(r['readout']), 'mutations': r['nMut'],
             'long_tasks': [[_ms(t, ev['ts']), round(d, 1)] for t, d in r['longTasks'] if t >= ev['ts'] - 50],
             'parts': {k: {'first_ms': _ms(v['first'], ev['ts']), 'last_ms': _ms(v['last'], ev['ts']), 'mutations': v['mutations']}
                       for k, v in sorted(r['parts'].items(), key=lambda kv: kv[1]['first'])}}, direction)

def _median(xs):
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 1) if xs else None

def summary(rows:list[dict])->dict:
    "A control's figures over its moves (kernel_median_ms: the median of each move's largest stated kernel figure)."
    ms = [r['ms'] for r in rows if r['ms'] is not None]
    return {'moves': len(rows), 'median_ms': _median(ms), 'max_ms': max(ms) if ms else None,
            'first_readout_median_ms': _median([r['readout_ms'] for r in rows]),
            'painted_median_ms': _median([r['painted_ms'] for r in rows]),
            'long_tasks_median_ms': _median([sum(d for _, d in r['long_tasks']) for r in rows]),
            'kernel_median_ms': _median([max(r['kernel_ms'].values()) if r['kernel_ms'] else None for r in rows]),
            'rows': rows}

def machine()->dict:
    return {'nproc': len(os.sched_getaffinity(0)), 'cpu_count': os.cpu_count(),
            'loadavg_start': [round(x, 2) for x in os.getloadavg()]}

def parse_env(items)->dict:
    env = {}
    for it in items or []:
        k, eq, v = it.partition('=')
        if not eq or not k or not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', k):
            raise ValueError(f'--env {it!r}: expected KEY=VALUE, e.g. REST_NB_QUICK=1')
        env[k] = v
    return env

def log(msg): print(f'browser_latency: {msg}', file=sys.stderr, flush=True)

def measure(setup:str=DEFAULT_SETUP, moves:int=5, controls=DEFAULT_CONTROLS, env:dict|None=None, out=None, screenshot=None,
            settle_ms:float=500, setup_timeout:float=900, move_timeout:float=120, chromium:str=CHROMIUM,
            command:str|None=None, verbose:bool=True,
            warmup:int=2, # moves of each control made first and not timed (one-time costs of a view just drawn)
           )->dict:
    "Run `setup` in JupyterLab in Chromium at 1400x900 and time `moves` moves of each control (see the module's doc)."
    if moves < 1: raise ValueError(f'--moves {moves}: expected at least 1')
    if warmup < 0: raise ValueError(f'--warmup {warmup}: expected 0 or more')
    if not Path(chromium).exists(): raise FileNotFoundError(f'--chromium {chromium}: no such browser (apt-get install chromium)')
    say = log if verbose else (lambda m: None)
    res = {'setup': setup, 'command': command, 'env': env or {}, 'machine': machine(), 'viewport': None,
           'settle_ms': settle_ms, 'warmup': warmup, 'controls': {}, 'skipped': {}}
    with tempfile.TemporaryDirectory(prefix='browser_latency_') as tmp:
        tmp = Path(tmp); root = tmp/'nb'; root.mkdir()
        nb = {'cells': [{'cell_type': 'code', 'execution_count': None, 'id': 'setup', 'metadata': {}, 'outputs': [], 'source': setup}],
              'metadata': {'kernelspec': {'display_name': 'Python 3', 'language': 'python', 'name': 'python3'}},
              'nbformat': 4, 'nbformat_minor': 5}
        (root/NOTEBOOK).write_text(json.dumps(nb))
        with lab_driver.lab_server(root, tmp, env=env) as lab, lab_driver.chromium(chromium) as b:
            res['versions'] = {'chromium': b.version}
            page = lab_driver.open_notebook(b, lab, NOTEBOOK, viewport=VIEWPORT)
            res['viewport'] = page.evaluate('() => ({width: innerWidth, height: innerHeight})')
            say(f'running the setup: {setup}')
            t0 = time.time()
            lab_driver.run_all(page, timeout=setup_timeout)
            errors = page.evaluate(ERRORS)
            if errors: raise RuntimeError(f'the setup failed: {errors[0].strip().splitlines()[-1]}')
            try: page.wait_for_function(DRAWN, timeout=120_000, polling=200)
            except Exception as e:
                if 'Timeout' not in str(e): raise
                raise TimeoutError('the setup drew no widget view in 120 s after it ran: its last expression must be the view') from None
            res['setup_s'] = round(time.time() - t0, 1)
            page.evaluate(INSTRUMENT)
            settle(page, lab, settle_ms, move_timeout, since=page.evaluate('__latArm() && performance.now()'))  # drawn and quiet
            say(f'view drawn in {res["setup_s"]} s; timing {moves} moves of each of {", ".join(controls)}')
            for name in controls:
                kind, loc = find_control(page, name)
                if kind is None: res['skipped'][name] = 'absent'; continue
                if kind != 'slider' and len(options_of(kind, loc)[0]) < 2: res['skipped'][name] = 'a single option'; continue
                rows, direction = [], 1
                for _ in range(warmup): direction = move(page, lab, kind, loc, settle_ms, move_timeout, direction)[1]
                for _ in range(moves):
                    row, direction = move(page, lab, kind, loc, settle_ms, move_timeout, direction)
                    rows.append(row)
                res['controls'][name] = {'kind': kind, **summary(rows)}
                s = res['controls'][name]
                say(f"{name}: median {s['median_ms']} ms, max {s['max_ms']} ms, readout {s['first_readout_median_ms']} ms, "
                    f"kernel {s['kernel_median_ms']} ms")
            if screenshot:
                Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot)); res['screenshot'] = str(screenshot)
            page.close()
    res['machine']['loadavg_end'] = [round(x, 2) for x in os.getloadavg()]
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(res, indent=1) + '\n'); res['out'] = str(out)
    return res

def main(argv=None):
    ap = argparse.ArgumentParser(prog='browser_latency', description=__doc__.split('\n')[0])
    ap.add_argument('--setup', default=DEFAULT_SETUP, help='the cell that builds the view; its last expression is displayed')
    ap.add_argument('--env', action='append', metavar='KEY=VALUE', help="the server's and kernel's environment (repeatable)")
    ap.add_argument('--moves', type=int, default=5, help='moves per control')
    ap.add_argument('--warmup', type=int, default=2, help='untimed moves of each control first')
    ap.add_argument('--controls', nargs='+', default=list(DEFAULT_CONTROLS), help='controls, by their label text')
    ap.add_argument('--out', help='write the JSON here'); ap.add_argument('--screenshot', help='1400x900 PNG of the page after the moves')
    ap.add_argument('--settle-ms', type=float, default=500, help='a move is over after this long without a DOM change (kernel idle)')
    ap.add_argument('--setup-timeout', type=float, default=900); ap.add_argument('--move-timeout', type=float, default=120)
    ap.add_argument('--chromium', default=CHROMIUM)
    a = ap.parse_args(argv)
    cmd = shlex.join([Path(sys.argv[0]).name if argv is None else 'browser_latency.py', *(sys.argv[1:] if argv is None else argv)])
    try:
        res = measure(a.setup, a.moves, a.controls, parse_env(a.env), a.out, a.screenshot, a.settle_ms, a.setup_timeout,
                      a.move_timeout, a.chromium, command=f'python tools/{cmd}', warmup=a.warmup)
    except KeyboardInterrupt: sys.exit(130)
    except Exception as e:
        if os.environ.get('REST_NB_DEBUG') == '1': raise
        print(f'browser_latency: {type(e).__name__}: {e}'.splitlines()[0], file=sys.stderr); sys.exit(1)
    print(json.dumps(res, indent=1))

if __name__ == '__main__': main()
