"Write README.md from nbs/index.ipynb (nbdev_readme needs Quarto, which cannot be installed offline)."
import json, re
from pathlib import Path

root = Path(__file__).resolve().parent.parent
nb = json.loads((root/'nbs'/'index.ipynb').read_text())
directive = re.compile(r'^\s*#\s*\|')
parts = ['<!-- generated from nbs/index.ipynb by tools/make_readme.py: do not edit -->']
for cell in nb['cells']:
    src = ''.join(cell['source'])
    lines = src.splitlines()
    flags = ' '.join(l for l in lines if directive.match(l))
    if 'hide' in flags or 'default_exp' in flags: continue
    keep = lambda l: not directive.match(l) or re.match(r'^#\|\s*slow\s*$', l)     # a slow cell says so in README too
    body = '\n'.join(l for l in lines if keep(l)).strip('\n')
    if cell['cell_type'] == 'markdown': parts.append(body)
    elif cell['cell_type'] == 'code' and body:
        if not re.search(r'^#\|\s*echo:\s*false', src, re.M): parts.append(f'```python\n{body}\n```')   # echo: false shows the output only
        text = ''.join(''.join(o.get('text', '')) for o in cell.get('outputs', []) if o.get('output_type') == 'stream')
        if text.strip(): parts.append(f'```\n{text.rstrip()}\n```')
        parts += [''.join(o['data']['text/markdown']).strip() for o in cell.get('outputs', []) if 'text/markdown' in o.get('data', {})]
(root/'README.md').write_text('\n\n'.join(parts) + '\n')
