"""The paper's setting on real dataset layouts, with nothing downloaded: a Kinetics-style source (annotation CSVs and label
folders, real Kinetics-700 class names), UCF101- and HMDB51-style target trees with all 101 and 51 official class names,
through `rest_train` and `rest_eval` as a user runs them. The videos are real mp4/avi files with synthetic content."""
import csv, json, subprocess
import numpy as np
import pytest
from conftest import BIN
from rest_nb.data import class_list
from rest_nb.evaluate import split_050
from rest_nb.semantic import overlap_benchmarks
from rest_nb.synth import SynthConfig, render_video, write_video, VERBS, NOUNS

def _videos(folder, stems, k, rng, cfg, ext):
    "Real videos of a made-up motion pattern of class number k."
    folder.mkdir(parents=True, exist_ok=True)
    for s in stems: write_video(render_video(VERBS[k % len(VERBS)], NOUNS[k % len(NOUNS)], cfg, rng), folder/f'{s}{ext}', fps=cfg.fps)

@pytest.fixture(scope='module')
def layouts(tmp_path_factory):
    root, cfg, rng = tmp_path_factory.mktemp('real'), SynthConfig(frames=8), np.random.default_rng(0)
    kept = overlap_benchmarks('kinetics700', ['ucf101', 'hmdb51']).kept
    source = kept[::len(kept)//24][:24]                       # 24 Kinetics-700 classes the overlap filter keeps
    kin = root/'kinetics'
    for split, n in (('train', 4), ('val', 2)):
        rows = []
        for k, c in enumerate(source):
            ids = [f'{split[0]}{k:03d}{i:07d}' for i in range(n)]
            _videos(kin/split/c, [f'{y}_000010_000020' for y in ids], k, rng, cfg, '.mp4')
            rows += [dict(label=c, youtube_id=y, time_start=10, time_end=20, split=split) for y in ids]
        (kin/'annotations').mkdir(exist_ok=True)
        with open(kin/'annotations'/f'{split}.csv', 'w', newline='') as f:
            w = csv.DictWriter(f, ['label', 'youtube_id', 'time_start', 'time_end', 'split']); w.writeheader(); w.writerows(rows)
    ucf, hmdb = root/'UCF-101', root/'hmdb51_org'
    for k, c in enumerate(class_list('ucf101')): _videos(ucf/c, [f'v_{c}_g01_c0{i}' for i in (1, 2)], k, rng, cfg, '.avi')
    (root/'ucfTrainTestlist').mkdir()
    (root/'ucfTrainTestlist'/'classInd.txt').write_text(''.join(f'{i + 1} {c}\n' for i, c in enumerate(class_list('ucf101'))))
    for k, c in enumerate(class_list('hmdb51')): _videos(hmdb/c, [f'{c}_example_{i}' for i in (1, 2)], k + 7, rng, cfg, '.avi')
    return {'kinetics': kin, 'ucf101': ucf, 'hmdb51': hmdb, 'source': source}

@pytest.fixture(scope='module')
def trained(layouts, tmp_path_factory):
    out = tmp_path_factory.mktemp('runs')/'k'
    env_cache = tmp_path_factory.mktemp('cache')
    env = {**__import__('os').environ, 'REST_NB_CACHE': str(env_cache)}
    # the JPEG frame caches built beforehand, as on a cluster; the run then opens them rather than building its own
    data, targets = ['--data', str(layouts['kinetics'])], ['--targets', 'ucf101', 'hmdb51']
    r = subprocess.run([str(BIN/'rest_frames'), *data, 'train.frame_cache=jpeg', *targets], capture_output=True, text=True,
                       env=env, timeout=900)
    assert r.returncode == 0, r.stderr
    built = sorted(p.name for p in (env_cache/'frames').iterdir())
    # settings after --targets (which takes a list), as the usage line writes them: still read as settings
    r = subprocess.run([str(BIN/'rest_train'), '--no_progress', '--out', str(out), *data, *targets, 'train.frame_cache=jpeg',
                        'train.warmup_epochs=1', 'train.joint_epochs=2', 'train.batch_size=16'],
                       capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stderr
    assert len(built) == 2 and sorted(p.name for p in (env_cache/'frames').iterdir()) == built
    return out, str(env_cache)

def test_kinetics_to_ucf101_and_hmdb51_table2(layouts, trained, tmp_path):
    run, cache = trained
    classes = json.loads((run/'classes.json').read_text())
    assert sorted(classes['classes']) == sorted(layouts['source']) and classes['targets'][:3] == class_list('ucf101')[:3]
    out = tmp_path/'results.json'
    r = subprocess.run([str(BIN/'rest_eval'), str(run), str(layouts['kinetics']), '--targets', f"ucf101={layouts['ucf101']}",
                        f"hmdb51={layouts['hmdb51']}", '--clips', '1', '25', '--cv', '--out', str(out)],
                       capture_output=True, text=True, env={**__import__('os').environ, 'REST_NB_CACHE': cache}, timeout=900)
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert sorted(res['by_clips']) == ['1', '25']
    for clips, rc in res['by_clips'].items():
        assert rc['clips'] == int(clips)
        for name, n in (('ucf101', 101), ('hmdb51', 51)):
            t = rc['targets'][name]
            assert t['classes'] == sorted(class_list(name)) and t['videos'] == 2*n          # every official class, every video
            assert t['splits_050'] == [[t['classes'][i] for i in np.sort(split_050(n, s))] for s in range(10)]
            assert [len(s) for s in t['splits_050']] == [n//2]*10                           # 50 and 25 classes, E2E's seeds
            rows = {row['variant']: row for row in t['table']}
            assert 0 <= rows['all constraints']['0/100 top1'] <= rows['all constraints']['0/100 top5'] <= 1
    assert 'ucf101 0/50' in r.stdout and 'hmdb51 0/100' in r.stdout                          # the paper's Table 2 layout
    assert '25' in r.stdout.splitlines()[-2]

def test_constraints_off_on_the_command_line(layouts, trained, tmp_path):
    "--K off --tau off --rho off is transfer with no constraint: the table's 'no constraints' row."
    run, cache = trained
    env = {**__import__('os').environ, 'REST_NB_CACHE': cache}
    out = tmp_path/'off.json'
    r = subprocess.run([str(BIN/'rest_eval'), str(run), str(layouts['kinetics']), '--targets', f"hmdb51={layouts['hmdb51']}",
                        '--K', 'off', '--tau', 'off', '--rho', 'off', '--out', str(out)], capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stderr
    rows = {row['variant']: row for row in json.loads(out.read_text())['targets']['hmdb51']['table']}
    assert rows['all constraints']['0/100 top1'] == rows['no constraints']['0/100 top1']
    assert (rows['all constraints']['K'], rows['all constraints']['tau'], rows['all constraints']['rho']) == (None, 0., None)
    r = subprocess.run([str(BIN/'rest_eval'), str(run), str(layouts['kinetics']), '--targets', f"hmdb51={layouts['hmdb51']}",
                        '--K', 'five', '--tau', '0.9', '--rho', '3'], capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode != 0 and '--K five: expected an integer or off' in r.stderr
