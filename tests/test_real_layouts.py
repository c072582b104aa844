"""The paper's setting on real dataset layouts, with nothing downloaded, warts included: a Kinetics-style source (annotation
CSVs, label folders some spelt with underscores, real Kinetics-700 class names, 10% of the rows without a file, one class
whose every training file is missing, a truncated, an empty and an audio-only file), UCF101- and HMDB51-style target trees
with all 101 and 51 official class names (MPEG-4 AVIs, CRLF split files, HMDB's awkward file names), through `rest_frames`,
`rest_train`, `rest_check_videos` and `rest_eval` as a user runs them. The trees come from `rest_nb.testing`."""
import json, os, subprocess
from pathlib import Path
import numpy as np
import pytest
from conftest import BIN
from rest_nb.data import class_list
from rest_nb.evaluate import split_050
from rest_nb.semantic import overlap_benchmarks
from rest_nb.testing import make_kinetics_tree, make_ucf101_tree, make_hmdb51_tree

def run(script, *args, cache=None):
    env = {**os.environ, **({'REST_NB_CACHE': str(cache)} if cache else {})}
    return subprocess.run([str(BIN/script), *map(str, args)], capture_output=True, text=True, env=env, timeout=900)

@pytest.fixture(scope='module')
def layouts(tmp_path_factory):
    root = tmp_path_factory.mktemp('real')
    kept = overlap_benchmarks('kinetics700', ['ucf101', 'hmdb51']).kept
    source = kept[::len(kept)//24][:24]                       # 24 Kinetics-700 classes the overlap filter keeps
    kin = make_kinetics_tree(root/'kinetics', source, per_class=(4, 2), missing=0.1)
    ucf = make_ucf101_tree(root/'ucf', per_class=(1, 1))
    hmdb = make_hmdb51_tree(root/'hmdb51_org', per_class=2)
    return {'kinetics': kin, 'ucf101': ucf, 'hmdb51': hmdb, 'source': source, 'root': root}

@pytest.fixture(scope='module')
def trained(layouts, tmp_path_factory):
    out, cache = tmp_path_factory.mktemp('runs')/'k', tmp_path_factory.mktemp('cache')
    # the JPEG frame caches built beforehand, as on a cluster; the run then opens them rather than building its own
    data, targets = ['--data', layouts['kinetics']['root']], ['--targets', 'ucf101', 'hmdb51']
    r = run('rest_frames', *data, 'train.frame_cache=jpeg', *targets, cache=cache)
    assert r.returncode == 0, r.stderr
    built = sorted(p.name for p in (cache/'frames').iterdir())
    # settings after --targets (which takes a list), as the usage line writes them: still read as settings
    r = run('rest_train', '--no_progress', '--out', out, *data, *targets, 'train.frame_cache=jpeg', 'train.warmup_epochs=1',
            'train.joint_epochs=2', 'train.batch_size=16', cache=cache)
    assert r.returncode == 0, r.stderr
    assert len(built) == 2 and sorted(p.name for p in (cache/'frames').iterdir()) == built
    return out, cache, r

def test_missing_files_and_empty_class_are_named_before_training(layouts, trained):
    kin, (out, _, r) = layouts['kinetics'], trained
    gone, rows = kin['missing'], sum(kin['rows'].values())
    assert 0 < len(gone) < rows and kin['empty_class'] and kin['underscored']
    # before the first epoch: how many annotated clips have no file, where the list is, and the class dropped, by name
    assert f"{len(gone)} of {rows} annotated clips have no file (list in {out/'missing.txt'})" in r.stderr
    assert {Path(l).name for l in (out/'missing.txt').read_text().splitlines()} == {p.name for p in gone}
    assert f"dropped 1 class(es) without a usable training video (kept in classes.json): {kin['empty_class']!r}" in r.stderr
    cl = json.loads((out/'classes.json').read_text())
    assert [d['class'] for d in cl['dropped']] == [kin['empty_class']] and 'no training video on disk' in cl['dropped'][0]['reason']
    assert sorted(cl['classes']) == sorted(set(layouts['source']) - {kin['empty_class']})   # underscore folders read too
    metrics = json.loads((out/'metrics.jsonl').read_text().splitlines()[0])
    assert metrics['missing_videos'] == len(gone) and metrics['dropped_classes'][0]['class'] == kin['empty_class']
    # the bad files are skipped and named, all of them in skipped.txt
    bad = {p.name for p in kin['bad'].values()}
    skipped = {Path(l.split(': ')[0]).name for l in (out/'skipped.txt').read_text().splitlines()}
    assert skipped and skipped <= bad and f"(full list in {out/'skipped.txt'})" in r.stderr
    assert 'no best model' not in r.stdout and 'None' not in r.stdout

def test_rest_check_videos_sees_the_missing_rows(layouts):
    kin = layouts['kinetics']
    r = run('rest_check_videos', kin['root'])
    assert r.returncode == 1
    listed = {Path(l.split(': ')[0]).name for l in r.stdout.splitlines()}
    assert {p.name for p in kin['missing']} <= listed and {p.name for p in kin['bad'].values()} <= listed
    assert f"{len(kin['missing'])} annotated video(s) have no file" in r.stderr

def test_kinetics_to_ucf101_and_hmdb51_table2(layouts, trained, tmp_path):
    out_run, cache, _ = trained
    classes = json.loads((out_run/'classes.json').read_text())
    assert classes['targets'][:3] == class_list('ucf101')[:3]
    out = tmp_path/'results.json'
    ucf, hmdb = layouts['ucf101'], layouts['hmdb51']
    r = run('rest_eval', out_run, layouts['kinetics']['root'], '--targets', f"ucf101={ucf['videos']}", f"hmdb51={hmdb['root']}",
            '--clips', '1', '25', '--cv', '--out', out, cache=cache)
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert sorted(res['by_clips']) == ['1', '25']
    for clips, rc in res['by_clips'].items():
        assert rc['clips'] == int(clips)
        for name, n, files in (('ucf101', 101, ucf['files']), ('hmdb51', 51, hmdb['train'] + hmdb['test'])):
            t = rc['targets'][name]
            assert t['classes'] == sorted(class_list(name)) and t['videos'] == len(files) and not t['skipped']   # every class, every video
            assert t['splits_050'] == [[t['classes'][i] for i in np.sort(split_050(n, s))] for s in range(10)]
            assert [len(s) for s in t['splits_050']] == [n//2]*10                           # 50 and 25 classes, E2E's seeds
            rows = {row['variant']: row for row in t['table']}
            assert 0 <= rows['all constraints']['0/100 top1'] <= rows['all constraints']['0/100 top5'] <= 1
    assert 'ucf101 0/50' in r.stdout and 'hmdb51 0/100' in r.stdout                          # the paper's Table 2 layout
    assert '25' in r.stdout.splitlines()[-2]

def test_partial_ucf101_and_the_folder_above_it(layouts, trained, tmp_path):
    "A download with 15 of UCF101's 101 class folders is evaluated as that subset, and says so; its parent folder is refused."
    out_run, cache, _ = trained
    part = make_ucf101_tree(tmp_path/'ucf', classes=15, all_listed=True, per_class=(1, 1))
    broken = sorted(part['files'])[0]; broken.write_bytes(broken.read_bytes()[:300])        # a truncated AVI: skipped, named
    out, kin = tmp_path/'part.json', layouts['kinetics']['root']
    r = run('rest_eval', out_run, kin, '--targets', f"ucf101={part['videos']}", '--K', '3', '--tau', 'off', '--rho', '3',
            '--out', out, cache=cache)
    assert r.returncode == 0, r.stderr
    assert '15 of the 101 classes' in r.stderr and 'evaluating those 15 (0/50 draws 7 of them)' in r.stderr
    t = json.loads(out.read_text())['targets']['ucf101']
    assert f"ucf101: 1 video(s) skipped: {broken.name} (" in r.stderr and f'full list of skipped videos: {out}' in r.stderr
    assert [Path(p).name for p, _ in t['skipped']] == [broken.name] and t['videos'] == len(part['files']) - 1
    assert t['classes'] == sorted(part['downloaded']) and [len(s) for s in t['splits_050']] == [7]*10
    r = run('rest_eval', out_run, kin, '--targets', f"ucf101={part['root']}", '--K', '3', '--tau', 'off', '--rho', '3', cache=cache)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and f"use ucf101={part['videos']}" in r.stderr

def test_constraints_off_on_the_command_line(layouts, trained, tmp_path):
    "--K off --tau off --rho off is transfer with no constraint: the table's 'no constraints' row."
    run_dir, cache, _ = trained
    out, kin, hmdb = tmp_path/'off.json', layouts['kinetics']['root'], layouts['hmdb51']['root']
    r = run('rest_eval', run_dir, kin, '--targets', f"hmdb51={hmdb}", '--K', 'off', '--tau', 'off', '--rho', 'off', '--out', out, cache=cache)
    assert r.returncode == 0, r.stderr
    rows = {row['variant']: row for row in json.loads(out.read_text())['targets']['hmdb51']['table']}
    assert rows['all constraints']['0/100 top1'] == rows['no constraints']['0/100 top1']
    assert (rows['all constraints']['K'], rows['all constraints']['tau'], rows['all constraints']['rho']) == (None, 0., None)
    r = run('rest_eval', run_dir, kin, '--targets', f"hmdb51={hmdb}", '--K', 'five', '--tau', '0.9', '--rho', '3', cache=cache)
    assert r.returncode != 0 and '--K five: expected an integer or off' in r.stderr

def test_explore_a_kinetics_run_on_ucf101_and_hmdb51(layouts, trained):
    "The explorers open the run trained on the Kinetics layout, on the UCF101 and HMDB51 trees named as rest_eval takes them."
    from rest_nb.evaluate import evaluate_run
    from rest_nb.explore import explore, TransferExplorer, ConfusionExplorer
    from rest_nb.transfer import Constraints
    out_run, cache, _ = trained
    kin, specs = layouts['kinetics']['root'], [f"ucf101={layouts['ucf101']['videos']}", f"hmdb51={layouts['hmdb51']['root']}"]
    with pytest.raises(ValueError, match=r"targets=\['ucf101=PATH'"): explore(out_run, kin, cache=cache)
    ex = explore(out_run, targets=specs, cache=cache)                     # the data from run.json
    assert list(ex.targets) == ['ucf101', 'hmdb51'] and ex.targets['ucf101']['classes'] == sorted(class_list('ucf101'))
    res = evaluate_run(out_run, kin, specs, cv=True, progress=False, cache=cache)
    assert ex.chosen == Constraints(res['K'], res['tau'], res['rho'])
    for t in ('ucf101', 'hmdb51'):                                       # the panel's numbers are rest_eval's
        te = TransferExplorer(ex, target=t)
        te.c.protocol.value = '0/50'
        row = {r['variant']: r for r in res['targets'][t]['table']}['all constraints']
        assert te.state['0/100']['top1'] == row['0/100 top1'] and te.state['0/50']['top1_mean'] == row['0/50 top1_mean']
    ce = ConfusionExplorer(ex, target='hmdb51')
    assert ce.C.shape == (51, 51) and abs(ce.C.sum() - len(ex.targets['hmdb51']['y'])) < 1e-6
