"`tiny` as shipped learns: its own file, so that `make pytest` starts it first beside the browser test (tests/conftest.py)."
import json, subprocess
from conftest import BIN, rest_train, finish

def test_the_shipped_recipe_learns(tmp_path, env):
    "`tiny` exactly as shipped, on a small benchmark (6 verbs x 4 nouns, 20 training videos per class): far above chance."
    bench, out = tmp_path/'small', tmp_path/'run'
    r = subprocess.run([str(BIN/'rest_synth'), str(bench), '--verbs', 'bounce,roll,spin,slide,fall,rise', '--nouns', 'ball,box,ring,star',
                        '--train', '20', '--val', '10', '--test', '2', '--n_target', '3', '--workers', '2'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    code, o, e = finish(rest_train(['--data', bench, '--out', out], {**env, 'REST_NB_CACHE': str(tmp_path/'cache')}))
    assert code == 0, e
    s = json.loads((out/'summary.json').read_text())
    # 18 source classes less those the overlap filter removes: chance is about 0.06; the recipe must reach 8 times that
    assert s['best_val_acc'] >= 8*s['chance'], s
