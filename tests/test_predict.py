"rest_predict as a user runs it, on the demo run: held-out target videos, their true label names mixed with distractors."
import json, math, subprocess
from pathlib import Path
from conftest import BIN
from rest_nb.data import read_manifest
from rest_nb.demo import demo_bench

def predict(args, env, timeout=900):
    return subprocess.run([str(BIN/'rest_predict'), 'demo', *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout)

def test_rest_predict_on_unseen_videos_and_labels(tmp_path, env):
    env = {**env, 'REST_NB_QUICK': '1'}                             # the short demo run the test suite shares
    bench = demo_bench()
    a, b = read_manifest(bench, 'target_a'), read_manifest(bench, 'target_b')
    labels = a.classes + b.classes                                   # the 12 true names and 12 distractors, all unseen in training
    out = tmp_path/'predictions.json'
    r = predict([bench/'target_a', '--labels', *labels, '--topk', '3', '--json', out], env)
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert sorted(res) == sorted(['run', 'K', 'tau', 'rho', 'choice', 'clips', 'labels', 'label_policy', 'label_notes', 'no_admissible', 'videos',
                                  'skipped', 'features_from_cache'])
    assert len(res['videos']) == len(a) and res['skipped'] == [] and res['labels'] == labels
    for v in res['videos']:
        assert [t['label'] for t in v['top']] and len(v['top']) == 3
        assert [t['score'] for t in v['top']] == sorted((t['score'] for t in v['top']), reverse=True)
        assert v['composition'] and abs(sum(c['share'] for c in v['composition']) - 1) < 1e-3
    truth = [Path(v['video']).parent.name.replace('_', ' ') for v in res['videos']]
    acc = sum(v['top'][0]['label'] == t for v, t in zip(res['videos'], truth))/len(truth)
    chance = 1/len(labels)
    assert acc > chance + 4*math.sqrt(chance*(1 - chance)/len(truth)), acc        # four standard errors above guessing
    assert f"{res['videos'][0]['top'][0]['label']} = " in r.stdout                  # the winning prototype's seen classes
    # other labels, the same videos: the features come from the cache
    again = predict([bench/'target_a', '--labels', *b.classes, 'bounce bar', '--json', tmp_path/'again.json'], env)
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path/'again.json').read_text())['features_from_cache'] is True

def test_rest_predict_names_what_it_cannot_use(tmp_path, env):
    env = {**env, 'REST_NB_QUICK': '1'}
    bad = tmp_path/'clips'; bad.mkdir()
    (bad/'broken.mp4').write_bytes(b'not a video')
    good = read_manifest(demo_bench(), 'target_b').records[0].path
    r = predict([good, bad, '--labels', 'bounce disk', 'flibber zorp'], env)
    assert r.returncode == 0, r.stderr
    assert 'broken.mp4' in r.stdout and "'flibber zorp'" in r.stdout and 'rename table' in r.stdout
    r = predict([good], env)
    assert r.returncode != 0 and '--labels' in r.stderr
