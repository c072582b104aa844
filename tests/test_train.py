"""Training as a cluster user meets it: a run killed mid-epoch and resumed, Ctrl-C, and torchrun with 2 CPU processes
(the shipped recipe learning: test_recipe.py)."""
import json, os, signal, subprocess, time
from pathlib import Path
import pytest, torch
from conftest import BIN, rest_train, finish
from rest_nb.core import Config
from rest_nb.model import build_model

# a small, fast, deterministic configuration: 3 epochs (1 warm-up, 2 joint) of a few steps each
SMALL = ['clip.frames=4', 'train.warmup_epochs=1', 'train.joint_epochs=2', 'train.batch_size=4', 'train.workers=1', 'train.ckpt_every=5']

@pytest.fixture(scope='module')
def bench(tmp_path_factory):
    d = tmp_path_factory.mktemp('bench')/'mini'
    r = subprocess.run([str(BIN/'rest_synth'), str(d), '--preset', 'mini', '--workers', '2'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return d

def weights(run):
    ck = torch.load(Path(run)/'last.pt', map_location='cpu', weights_only=False)
    return ck, {**{f'model.{k}': v for k, v in ck['model'].items()}, **{f'warm.{k}': v for k, v in ck['warm_head'].items()}}

@pytest.fixture(scope='module')
def reference(bench, tmp_path_factory):
    "An uninterrupted run."
    out = tmp_path_factory.mktemp('ref')/'run'
    env = {**os.environ, 'PATH': f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    code, o, e = finish(rest_train(['--data', bench, '--out', out, *SMALL], env))
    assert code == 0, e
    return out

def test_killed_mid_epoch_and_resumed_matches_uninterrupted(bench, reference, tmp_path, env):
    ck_ref, w_ref = weights(reference)
    steps_per_epoch = ck_ref['global_step']//3
    kill = steps_per_epoch + 3                                      # in the second epoch, 2 steps after the checkpoint at step 5 or 10
    out = tmp_path/'run'
    code, o, e = finish(rest_train(['--data', bench, '--out', out, *SMALL], {**env, 'REST_NB_KILL_AT_STEP': str(kill)}))
    assert code == -signal.SIGKILL
    ck_mid = torch.load(out/'last.pt', map_location='cpu', weights_only=False)
    assert 0 < ck_mid['global_step'] < kill and ck_mid['step_in_epoch'] > 0    # a mid-epoch checkpoint survived the kill
    code, o, e = finish(rest_train(['--out', out, '--resume'], env))
    assert code == 0, e
    ck, w = weights(out)
    assert ck['global_step'] == ck_ref['global_step'] and ck['epoch'] == 3
    assert w.keys() == w_ref.keys()
    assert all(torch.equal(w[k], w_ref[k]) for k in w), [k for k in w if not torch.equal(w[k], w_ref[k])][:5]
    assert ck['best_acc'] == ck_ref['best_acc']
    steps = [json.loads(l) for l in (out/'metrics.jsonl').read_text().splitlines()]
    logged = [r['global_step'] for r in steps if r['type'] == 'step']
    assert logged == list(range(1, ck['global_step'] + 1))          # each step logged once, the redone ones included

def test_ctrl_c_leaves_a_resumable_checkpoint(bench, reference, tmp_path, env):
    out = tmp_path/'run'
    p = rest_train(['--data', bench, '--out', out, *SMALL], env)
    metrics, t0 = out/'metrics.jsonl', time.time()
    while time.time() - t0 < 300:                                    # interrupt once it is a few steps into training
        if metrics.exists() and sum(1 for l in metrics.read_text().splitlines() if '"type": "step"' in l) >= 4: break
        time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    code, o, e = finish(p)
    assert code == 130, e
    assert 'continue with --resume' in e
    ck_int = torch.load(out/'last.pt', map_location='cpu', weights_only=False)
    assert ck_int['global_step'] >= 4
    code, o, e = finish(rest_train(['--out', out, '--resume'], env))
    assert code == 0, e
    _, w = weights(out); _, w_ref = weights(reference)
    assert all(torch.equal(w[k], w_ref[k]) for k in w)

def test_resume_refuses_a_corrupt_checkpoint(bench, reference, tmp_path, env):
    out = tmp_path/'run'
    out.mkdir()
    for f in reference.iterdir(): (out/f.name).write_bytes(f.read_bytes())
    (out/'last.pt').write_bytes((out/'last.pt').read_bytes()[:3000])
    before = sorted((p.name, p.stat().st_size) for p in out.iterdir())
    code, o, e = finish(rest_train(['--out', out, '--resume'], env))
    assert code != 0 and 'last.pt is corrupt or unreadable' in e and 'not restarted from scratch' in e
    assert sorted((p.name, p.stat().st_size) for p in out.iterdir()) == before   # nothing was touched

def test_torchrun_two_processes_match_one_process(bench, tmp_path, env):
    exact = ['model.norm=group', 'model.dropout=0', 'train.workers=0', 'clip.frames=4', 'train.warmup_epochs=1', 'train.joint_epochs=1',
             'train.precision=fp32',                                    # bf16 autocast (on CPUs that have it) rounds differently per batch size
             'train.warmup_opt=sgd', 'train.ramp=0']                   # SGD: float rounding stays rounding (see below)
    one, two = tmp_path/'one', tmp_path/'two'
    code, o, e = finish(rest_train(['--data', bench, '--out', one, 'train.batch_size=8', *exact], env))
    assert code == 0, e
    p = subprocess.Popen([str(BIN/'torchrun'), '--standalone', '--nproc_per_node', '2', str(BIN/'rest_train'), '--no_progress',
                          '--data', str(bench), '--out', str(two), 'train.batch_size=4', *exact],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    code, o, e = finish(p)
    assert code == 0, e
    run = json.loads((two/'run.json').read_text())
    assert run['world_size'] == 2
    ck1, _ = weights(one); ck2, _ = weights(two)
    assert ck1['global_step'] == ck2['global_step']                 # the same global batches
    steps = [[json.loads(l) for l in (r/'metrics.jsonl').read_text().splitlines() if '"type": "step"' in l] for r in (one, two)]
    assert len(steps[0]) == len(steps[1]) == ck1['global_step']
    diff = [abs(a['loss'] - b['loss']) for a, b in zip(*steps)]
    warm = sum(s['stage'] == 'warmup' for s in steps[0])
    # The SGD warm-up and the first joint step (both models start it with the same weights) agree to float rounding: the same
    # samples, split over two processes, with gradients averaged as one process of twice the batch would. (SGD also
    # catches a wrong gradient scale, which Adam, being scale-invariant, would hide.) Measured on this benchmark: the rounding
    # differences reach 2e-7 to 5.5e-6 in most runs and 3.3e-5 in one (they vary from run to run); a gradient scale off by 2x
    # or 0.5x (summed instead of averaged, or averaged twice) moves these losses by 3e-2 to 1.6e-1.
    assert max(diff[:warm + 1]) < 1e-3, diff
    # After that AdamW divides each gradient by its running magnitude: parameters whose exact gradient is zero (the attention key
    # bias, which softmax ignores) get float noise turned into steps of size lr, different per run (measured: up to 1e-4 in the
    # loss after 6 steps). A wrong batch changes the loss by ~0.1 or more (consecutive batches differ by 0.3-0.6 here).
    assert max(diff) < 1e-2, diff
    logits = []
    for ck in (ck1, ck2):                                           # and the trained models compute the same function
        m = build_model(Config.from_dict(ck['config']), len(ck['classes']), len(ck['tokenizer']))
        m.load_state_dict(ck['model']); m.eval()
        torch.manual_seed(0)
        logits.append(m(torch.randn(4, 4, 3, 32, 32))['logits'])
    assert (logits[0] - logits[1]).abs().max() < 1e-2

def test_unreadable_training_videos_are_skipped_and_named(bench, tmp_path, env):
    import shutil
    data = tmp_path/'bench'
    shutil.copytree(bench, data)
    victim = sorted((data/'source').rglob('*_0000.mp4'))[0]
    victim.write_bytes(victim.read_bytes()[:500])                    # a truncated training video
    out = tmp_path/'run'
    code, o, e = finish(rest_train(['--data', data, '--out', out, 'clip.frames=4', 'train.warmup_epochs=1', 'train.joint_epochs=0',
                                    'train.batch_size=4', 'train.workers=1'], env))
    assert code == 0, e
    assert json.loads((out/'summary.json').read_text())['skipped_videos'] == 1
    assert str(victim) in e and '1 video(s) skipped' in e

def test_rest_eval_on_a_trained_run(bench, reference, tmp_path, env):
    env = {**env, 'REST_NB_CACHE': str(tmp_path/'cache')}
    out = tmp_path/'results.json'
    r = subprocess.run([str(BIN/'rest_eval'), str(reference), str(bench), '--cv', '--out', str(out)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert sorted(res['targets']) == ['target_a', 'target_b'] and res['cv'] is not None
    rows = {row['variant']: row for row in res['targets']['target_a']['table']}
    assert {'semantic-space baseline', 'reverse transfer', 'no constraints', 'constraint I only', 'constraints II + III only',
            'all constraints', 'all constraints, centred features'} == set(rows)
    assert all(0 <= row['0/100 top1'] <= row['0/100 top5'] <= 1 for row in rows.values())
    assert 'semantic-space baseline' in r.stdout and 'target_b' in r.stdout
    assert len(list((tmp_path/'cache'/'features').glob('*.npz'))) == 4   # train, val and two target sets, cached
    r = subprocess.run([str(BIN/'rest_eval'), str(reference), str(bench), '--K', '3', '--tau', '-1', '--rho', '2'], capture_output=True, text=True, env=env)
    assert r.returncode != 0 and 'tau=-1' in r.stderr
    r = subprocess.run([str(BIN/'rest_eval'), str(reference), str(bench)], capture_output=True, text=True, env=env)
    assert r.returncode != 0 and '--cv' in r.stderr

def test_rest_features_extracts_then_caches(bench, reference, tmp_path, env):
    env = {**env, 'REST_NB_CACHE': str(tmp_path/'cache')}
    cmd = [str(BIN/'rest_features'), str(reference), str(bench), '--target', 'target_b', '--out', str(tmp_path/'f.npz')]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env)
    second = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr
    assert 'extracted' in first.stdout and 'from the cache' in second.stdout
    f = __import__('numpy').load(tmp_path/'f.npz')
    assert f['X'].shape == (6, 128) and sorted(set(f['labels'].tolist())) == [0, 1, 2]
