"README's Python examples run as written, in order, in a fresh interpreter (on the short demo run of the test suite); blocks marked `#| slow` take minutes and are left to `make outputs SLOW=1`."
import os, re, subprocess, sys
from conftest import ROOT

def test_readme_python_blocks_run(tmp_path):
    blocks = re.findall(r'```python\n(.*?)```', (ROOT/'README.md').read_text(), re.S)
    blocks = [b for b in blocks if not b.startswith('#| slow')]        # slow cells (minutes of training) say so; make outputs runs them
    assert len(blocks) >= 6
    script = tmp_path/'readme.py'
    script.write_text('\n\n'.join(blocks))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=1200,
                       env={**os.environ, 'REST_NB_QUICK': '1'})
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'promises' not in r.stderr and 'seen-class val top-1' in r.stdout     # the demo's checks were printed
