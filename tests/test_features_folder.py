"""Features folders at the console: `rest_eval RUN DATA --save_features DIR` writes a run's features, `rest_eval --features DIR`
evaluates them with the run's own tables, a folder written with numpy alone (as from any extractor) evaluates too, and a bad
folder or a bad combination of arguments ends in one line on stderr. The installed script runs in a fresh interpreter, as a
user runs it; the short demo run of the test suite gives the features."""
import json, os, subprocess
import numpy as np
import pytest
from conftest import BIN
from rest_nb.core import run_console_script
from rest_nb.evaluate import rest_eval, read_features
from rest_nb.demo import demo_bench, demo_run

def rest_eval_cli(*args):
    "(exit status, stdout, stderr) of the installed rest_eval."
    env = {**os.environ, 'REST_NB_QUICK': '1', 'OMP_NUM_THREADS': '1'}
    env.pop('REST_NB_DEBUG', None)
    r = subprocess.run([str(BIN/'rest_eval'), *map(str, args)], capture_output=True, text=True, env=env, timeout=600)
    return r.returncode, r.stdout, r.stderr

@pytest.fixture(scope='module')
def demo():
    return demo_bench(), demo_run(quick=True)

def test_a_runs_folder_gives_the_runs_tables(demo, tmp_path):
    bench, run = demo
    code, out, err = rest_eval_cli(run, bench, '--save_features', tmp_path/'feat')
    assert code == 0, err
    assert out.startswith(f"features of {run} written to {tmp_path/'feat'}: 70 seen classes") and out.count('\n') == 1
    assert (tmp_path/'feat'/'features.json').is_file() and (tmp_path/'feat'/'targets'/'target_b.npz').is_file()
    code, from_run, err = run_console_script(rest_eval, run, bench, '--cv', '--out', tmp_path/'run.json')   # in-process
    assert code == 0, err
    code, from_folder, err = rest_eval_cli('--features', tmp_path/'feat', '--cv', '--out', tmp_path/'feat.json')
    assert code == 0, err
    assert from_folder.split('\n', 2)[2] == from_run.split('\n', 1)[1]          # the same tables, to the digit
    a, b = (json.loads((tmp_path/f).read_text()) for f in ('run.json', 'feat.json'))
    assert a['targets'] == b['targets'] and a['cv'] == b['cv']
    assert b['features'] == str(tmp_path/'feat') and b['run'] == str(run)

SEEN = ['playing guitar', 'playing drums', 'riding bike', 'riding horse', 'jumping rope', 'swimming', 'cooking eggs',
        'washing dishes']
TARGET = ['RidingElephant', 'PlayingPiano', 'JumpingJack', 'WashingCar']   # any order: read back sorted by name

def write_by_hand(d, rng):
    "A features folder as a user writes it from any extractor, with numpy and json alone."
    (d/'targets').mkdir(parents=True)
    centres = rng.normal(size=(len(SEEN), 32))
    def videos(k):
        y = np.repeat(np.arange(len(SEEN)), k)
        return (centres[y] + 0.3*rng.normal(size=(len(y), 32))).astype(np.float32), y
    for split, k in (('train', 6), ('val', 2)):
        X, y = videos(k)
        np.savez(d/f'{split}.npz', X=X, labels=y, paths=np.array([f'/videos/{split}/{i}.mp4' for i in range(len(y))]))
    mix = {0: [2, 3], 1: [0, 1], 2: [4], 3: [7]}                              # each unseen class near some seen ones
    yt = np.repeat(np.arange(len(TARGET)), 5)
    Xt = np.stack([centres[mix[j]].mean(0) for j in yt]) + 0.3*rng.normal(size=(len(yt), 32))
    np.savez(d/'targets'/'ucf101.npz', X=Xt.astype(np.float32), labels=yt, classes=np.array(TARGET),
             paths=np.array([f'/videos/ucf/{TARGET[j]}_{i}.avi' for i, j in enumerate(yt)]))
    (d/'features.json').write_text(json.dumps({'format': 'rest_nb.features/1', 'extractor': 'made-up, 32-d',
                                               'seen': {'classes': SEEN, 'style': 'kinetics'},
                                               'targets': {'ucf101': {'style': 'ucf101'}}}))
    return Xt, yt

def test_a_folder_written_with_numpy_alone(tmp_path):
    Xt, yt = write_by_hand(tmp_path/'mine', np.random.default_rng(0))
    inp = read_features(tmp_path/'mine')
    t = inp['targets']['ucf101']
    assert t['classes'] == sorted(TARGET)                                     # sorted by name, labels remapped with them
    assert [t['classes'][j] for j in t['y']] == [TARGET[j] for j in yt]
    assert inp['P'].shape == (len(SEEN), 32) and inp['run'] is None and inp['clips'] == 1
    code, out, err = rest_eval_cli('--features', tmp_path/'mine', '--K', '3', '--tau', 'off', '--rho', '2')
    assert code == 0 and err == '', err
    assert out.startswith('features mine  clips 1') and 'extractor: made-up, 32-d' in out
    assert 'ucf101: 4 unseen classes, 20 videos' in out and 'all constraints' in out

def test_bad_folders_and_arguments_say_so_in_one_line(demo, tmp_path):
    bench, run = demo
    mine = tmp_path/'mine'; write_by_hand(mine, np.random.default_rng(1))
    half = tmp_path/'half'; write_by_hand(half, np.random.default_rng(1)); (half/'features.json').unlink()
    old = tmp_path/'old'; write_by_hand(old, np.random.default_rng(1))
    m = json.loads((old/'features.json').read_text()); (old/'features.json').write_text(json.dumps({**m, 'format': 'x/0'}))
    code, out, err = rest_eval_cli('--features', half, '--cv')                   # the installed script, a fresh interpreter
    assert (code, out, err) == (1, '', f"rest_eval: {half} has no features.json: not a features folder, or one whose writing "
                                       "did not finish (expected features.json, train.npz, val.npz, targets/NAME.npz)\n")
    table = [
        (['--features', old, '--cv'], f"rest_eval: {old/'features.json'}: format 'x/0': expected 'rest_nb.features/1'"),
        ([run, bench, '--features', mine, '--cv'], f'rest_eval: --features {mine} replaces RUN and DATA'),
        (['--cv'], 'rest_eval: give RUN and DATA (a training run and its source data), or --features DIR'),
        ([run, '--cv'], f'rest_eval: give DATA after RUN {run}'),
        (['--features', mine, '--cv', '--clips', '25'], f'rest_eval: --clips 25: {mine} holds the features of 1 clip(s)'),
        (['--features', mine, '--cv', '--targets', 'hmdb51'], "rest_eval: target 'hmdb51' is not in"),
        (['--features', mine, '--save_features', tmp_path/'x'], f"rest_eval: --save_features {tmp_path/'x'} writes a run's features"),
        (['--features', tmp_path/'nowhere', '--cv'], f"rest_eval: features folder {tmp_path/'nowhere'} does not exist"),
        ([run, bench, '--clips', '1', '2', '--save_features', tmp_path/'x'], 'give one --clips value (got 1 2)'),
    ]
    for args, want in table:
        code, out, err = run_console_script(rest_eval, *args)
        assert code == 1 and out == '' and err.count('\n') == 1 and want in err, (args, err)
    assert not (tmp_path/'x').exists()
