"`make check` (tools/check_nbdev.sh) passes on the repo as committed and fails, naming the file, when an invariant is broken."
import json, shutil, subprocess
import pytest
from conftest import ROOT

@pytest.fixture
def repo(tmp_path):
    "A copy of the project's tracked and untracked-but-not-ignored files."
    files = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split('\n')
    dst = tmp_path/'repo'
    for f in filter(None, files):
        if not (ROOT/f).is_file(): continue
        (dst/f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT/f, dst/f)
    return dst

def check(repo, env):
    return subprocess.run(['bash', 'tools/check_nbdev.sh'], cwd=repo, capture_output=True, text=True, env=env, timeout=300)

def test_clean_repo_passes(repo, env):
    r = check(repo, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'invariants hold' in r.stdout

def test_library_out_of_sync_fails(repo, env):
    p = repo/'rest_nb'/'core.py'
    p.write_text(p.read_text().replace('def preset(', 'def preset_edited_by_hand('))
    r = check(repo, env)
    assert r.returncode == 1 and 'nbdev_export' in r.stdout and 'rest_nb/core.py' in r.stdout

def test_dirty_notebook_fails(repo, env):
    p = repo/'nbs'/'00_core.ipynb'
    nb = json.loads(p.read_text())
    nb['cells'][0]['execution_count'] = 7
    nb['metadata']['widgets'] = {'state': {}}
    p.write_text(json.dumps(nb, indent=1))
    r = check(repo, env)
    assert r.returncode == 1 and 'nbdev_clean' in r.stdout and 'nbs/00_core.ipynb' in r.stdout

def test_hand_edited_readme_fails(repo, env):
    (repo/'README.md').write_text((repo/'README.md').read_text() + '\nedited by hand\n')
    r = check(repo, env)
    assert r.returncode == 1 and 'README.md' in r.stdout
