"""Run notebooks top to bottom and store their outputs in them: what a reader sees without running anything.

    .venv/bin/python tools/run_nb.py nbs/05_train.ipynb nbs/07_evaluate.ipynb [--slow]

Every cell runs except `#| eval: false` ones and `slow` cells unless --slow is given (a cell that does not run keeps the
outputs it has); `gpu` cells run and skip themselves with a one-line note where CUDA is missing. Progress bars and widget views are dropped from what is stored (the
widgets' static figures stay), figures are stored as PNG, and a notebook whose cell fails is left untouched. `make outputs`
runs this over the notebooks whose outputs README and the notebooks show.
"""
import argparse, json, os, re, sys
from pathlib import Path
import nbformat
from execnb.shell import CaptureShell

NOISE = re.compile(r'<progress|\r|Couldn\'t import ipywidgets')
ROOT = str(Path(__file__).resolve().parents[1]) + '/'

def keep(o:dict)->dict|None:
    "An output as it should be stored, or None for progress bars and live widget views."
    if o.get('output_type') == 'stream':
        text = ''.join(o.get('text', ''))
        return None if NOISE.search(text) else {**o, 'text': text.replace(ROOT, '')}   # warnings name files relative to the repo
    data = o.get('data')
    if data is None: return o
    html = ''.join(data.get('text/html', ''))
    if '<progress' in html: return None
    data = {k: v for k, v in data.items() if k != 'application/vnd.jupyter.widget-view+json'}
    if set(data) <= {'text/plain'} and 'Widget' in ''.join(data.get('text/plain', '')): return None
    return {**o, 'data': data} if data else None

def run(path:Path, slow:bool, only:list[str]|None=None):
    path, here = path.resolve(), os.getcwd()
    os.chdir(path.parent)                                     # as Jupyter and nbdev_test do: files a notebook writes land beside it
    try: _run(path, slow, only)
    finally: os.chdir(here)

def _run(path:Path, slow:bool, only:list[str]|None=None):
    nb = nbformat.read(path, as_version=4)
    shell = CaptureShell(path, mpl_format='png')
    for cell in nb.cells:
        if cell.cell_type != 'code': continue
        src = cell.source
        if re.search(r'^#\|\s*eval:\s*false', src, re.M): continue
        if re.search(r'^#\|\s*slow\s*$', src, re.M) and not (slow and (not only or any(o in src for o in only))): continue
        outs = shell.run(src)
        if shell.exc: sys.exit(f"{path}: a cell failed, the notebook is left as it was:\n{src}\n{shell.exc!r}")
        cell.outputs = [nbformat.from_dict(o) for o in map(keep, outs) if o is not None]
        cell.execution_count = None
    now = nbformat.read(path, as_version=4)                  # edited while it ran? store outputs only where a cell is unchanged
    ran = {c.get('id'): c for c in nb.cells if c.cell_type == 'code'}
    for c in now.cells:
        r = ran.get(c.get('id'))
        if c.cell_type == 'code' and r is not None and r.source == c.source: c.outputs, c.execution_count = r.outputs, None
        elif c.cell_type == 'code' and r is not None: print(f"{path}: cell {c.get('id')} changed while it ran: outputs not stored")
    nb = now
    nbformat.write(nb, path)
    size = path.stat().st_size
    print(f"{path.relative_to(ROOT) if str(path).startswith(ROOT) else path}: {sum(bool(c.get('outputs')) for c in nb.cells if c.cell_type == 'code')} cells with outputs, {size/1e6:.2f} MB")

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('notebooks', nargs='+', type=Path)
    p.add_argument('--slow', action='store_true', help='also run the cells flagged slow')
    p.add_argument('--only', nargs='*', help='with --slow: run only the slow cells whose source contains one of these strings')
    a = p.parse_args()
    for nb in a.notebooks: run(nb, a.slow, a.only)
