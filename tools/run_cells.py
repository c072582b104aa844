"""Run a notebook's cells, `slow` ones included (and `gpu` ones when CUDA is available), skipping
`eval: false` cells, then print the value of EXPR in its namespace: how README's benchmark figures
are produced.

    .venv/bin/python tools/run_cells.py nbs/02_data.ipynb res
"""
import re, sys, nbformat
from execnb.shell import CaptureShell

nb_path, expr = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else 'None')
import torch
run_flags = {'slow'} | ({'gpu'} if torch.cuda.is_available() else set())
shell = CaptureShell(nb_path)
for cell in nbformat.read(nb_path, as_version=4).cells:
    if cell.cell_type != 'code' or re.search(r'^#\|\s*eval:\s*false', cell.source, re.M): continue
    flags = set(re.findall(r'^#\|\s*(notest|slow|gpu)\s*$', cell.source, re.M))
    if flags - run_flags: continue
    shell.run(cell.source)
    if shell.exc: sys.exit(f"cell failed:\n{cell.source}\n{shell.exc!r}")
for o in shell.run(expr):
    if o.get('output_type') == 'stream': print(''.join(o['text']), end='')
    elif 'data' in o: print(''.join(o['data'].get('text/plain', '')))
