import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent          # the venv's console scripts live beside its python

@pytest.fixture
def env():
    "Environment for subprocesses: the venv's scripts first on PATH."
    e = dict(os.environ)
    e['PATH'] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    return e

def rest_train(args, env, **kw)->subprocess.Popen:
    "`rest_train --no_progress ARGS` started in the background, its output captured."
    return subprocess.Popen([str(BIN/'rest_train'), '--no_progress', *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, **kw)

def finish(p:subprocess.Popen, timeout=600)->tuple:
    "(exit status, stdout, stderr) of `p` once it ends."
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err

# The two longest files first (JupyterLab's Run All, and training `tiny` as shipped), one per worker: `make pytest` runs two
# files at a time (pytest-xdist, --dist loadfile, in collection order) and hands each worker two files at the start, so
# the two smallest come next and test_train (the third longest) goes to the first worker free.
FIRST = ('test_browser.py', 'test_recipe.py', 'test_nbdev_invariants.py', 'test_packaging.py', 'test_train.py')

def pytest_collection_modifyitems(session, config, items):
    rank = lambda item: FIRST.index(item.path.name) if item.path.name in FIRST else len(FIRST)
    items.sort(key=rank)                                           # stable: each file keeps its tests' order
