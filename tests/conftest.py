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
