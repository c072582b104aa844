"""Run every cell of a notebook, `slow` and `gpu` cells included (not `eval: false` ones), then print
the value of EXPR in its namespace: how README's benchmark figures are produced.

    .venv/bin/python tools/run_cells.py nbs/02_data.ipynb res
"""
import sys, nbformat
from execnb.shell import CaptureShell

nb_path, expr = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else 'None')
shell = CaptureShell(nb_path)
for cell in nbformat.read(nb_path, as_version=4).cells:
    if cell.cell_type != 'code' or '#| eval: false' in cell.source: continue
    shell.run(cell.source)
    if shell.exc: sys.exit(f"cell failed:\n{cell.source}\n{shell.exc!r}")
shell.run(expr)
print(shell.result)
