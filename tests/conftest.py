import os, sys
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

# The two longest files first (JupyterLab's Run All, and training `tiny` as shipped), one per worker: `make pytest` runs two
# files at a time (pytest-xdist, --dist loadfile, in collection order) and hands each worker two files at the start, so
# the two smallest come next and test_train (the third longest) goes to the first worker free.
FIRST = ('test_browser.py', 'test_recipe.py', 'test_nbdev_invariants.py', 'test_packaging.py', 'test_train.py')

def pytest_collection_modifyitems(session, config, items):
    rank = lambda item: FIRST.index(item.path.name) if item.path.name in FIRST else len(FIRST)
    items.sort(key=rank)                                           # stable: each file keeps its tests' order
