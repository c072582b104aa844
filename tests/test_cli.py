"Console scripts as a user runs them: rest_synth and rest_check_videos, on real files."
import hashlib, json, subprocess
from pathlib import Path
from conftest import BIN
from rest_nb.data import read_manifest
from rest_nb.testing import make_bad_videos

def run(*args, env=None):
    return subprocess.run([str(BIN/args[0]), *map(str, args[1:])], capture_output=True, text=True, env=env, timeout=300)

def digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(Path(folder).rglob('*')) if p.is_file()}

def test_rest_synth_generates_and_is_idempotent(tmp_path, env):
    out = tmp_path/'bench'
    r = run('rest_synth', out, '--preset', 'mini', '--workers', '2', env=env)
    assert r.returncode == 0, r.stderr
    assert 'source' in r.stdout and 'target_a' in r.stdout and 'manifest.json' in r.stdout
    m = json.loads((out/'manifest.json').read_text())
    vids = [v['path'] for s in m['sets'].values() for v in s['videos']]
    assert sorted(vids) == sorted(p.relative_to(out).as_posix() for p in out.rglob('*.mp4'))
    assert len(read_manifest(out, 'source', 'train')) == 18*3
    before = digest(out)
    r = run('rest_synth', out, '--preset', 'mini', env=env)            # same settings: nothing rewritten
    assert r.returncode == 0 and digest(out) == before
    r = run('rest_synth', out, '--preset', 'mini', '--seed', '3', env=env)
    assert r.returncode != 0 and 'other settings' in r.stderr and digest(out) == before

def test_rest_synth_options_and_errors(tmp_path, env):
    out = tmp_path/'custom'
    r = run('rest_synth', out, '--preset', 'mini', '--size', '48', '--frames', '6', '--verbs', 'fall,rise,spin,grow,shrink,orbit',
            '--nouns', 'ball,star,bar,ring', '--n_target', '2', env=env)
    assert r.returncode == 0, r.stderr
    m = json.loads((out/'manifest.json').read_text())
    assert m['config']['size'] == 48 and m['config']['verbs'][0] == 'fall'
    assert len(m['sets']['target_b']['classes']) == 2
    r = run('rest_synth', tmp_path/'x', '--verbs', 'bounce,jump', env=env)
    assert r.returncode != 0 and "unknown verbs ['jump']" in r.stderr
    r = run('rest_synth', tmp_path/'y', '--size', '33', env=env)
    assert r.returncode != 0 and 'size=33' in r.stderr

def test_rest_check_videos(tmp_path, env):
    good = tmp_path/'bench'
    assert run('rest_synth', good, '--preset', 'mini', env=env).returncode == 0
    r = run('rest_check_videos', good, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert '0 unreadable' in r.stderr

    bad = make_bad_videos(good/'broken')
    before = digest(good)
    r = run('rest_check_videos', good, '--full', env=env)
    assert r.returncode == 1
    listed = {Path(line.split(': ')[0]).name for line in r.stdout.splitlines()}
    assert listed == {p.name for k, p in bad.items() if k != 'missing'}
    assert '6 unreadable' in r.stderr
    assert digest(good) == before                                     # it never modifies files

def test_rest_check_videos_bad_directories(tmp_path, env):
    r = run('rest_check_videos', tmp_path/'nowhere', env=env)
    assert r.returncode == 2 and 'nowhere' in r.stderr and 'does not exist' in r.stderr
    (tmp_path/'empty').mkdir(); (tmp_path/'empty'/'notes.txt').write_text('no videos here')
    r = run('rest_check_videos', tmp_path/'empty', env=env)
    assert r.returncode == 2 and 'no videos' in r.stderr and 'empty' in r.stderr

def test_rest_flops(env):
    r = run('rest_flops', env=env)
    assert r.returncode == 0, r.stderr
    rows = {l.split()[0]: l.split() for l in r.stdout.splitlines()[1:]}
    assert set(rows) == {'tiny', 'rest18', 'rest34', 'rest101', 'rest_mobilenet_v2', 'rest_vgg16', 'rest_googlenet', 'rest_r2plus1d'}
    assert abs(float(rows['rest18'][-1]) - 30.8) < 0.02*30.8                # paper, Table 4b: 30.8 GFLOPs per clip
    r = run('rest_flops', '--preset', 'rest50', env=env)
    assert r.returncode != 0 and 'rest18' in r.stderr

def test_every_console_script_documents_every_option():
    "Each option of each console script has its own help text, and no test hook is offered to users."
    import importlib
    from configparser import ConfigParser
    from fastcore.script import anno_parser
    from rest_nb.core import run_console_script
    from conftest import ROOT
    cfg = ConfigParser(); cfg.read(ROOT/'settings.ini')
    scripts = [l.split('=', 1) for l in cfg['DEFAULT']['console_scripts'].splitlines() if l.strip()]
    assert len(scripts) >= 9
    for name, target in scripts:
        mod, fn = target.strip().split(':')
        p = anno_parser(getattr(importlib.import_module(mod), fn).__wrapped__)
        options = [a for a in p._actions if a.help != '==SUPPRESS==' and a.dest != 'help']
        undocumented = [a.dest for a in options if not (a.help or '').strip()]
        assert not undocumented, (name.strip(), undocumented)
        hooks = [a.dest for a in options if 'kill' in a.dest or 'testing only' in (a.help or '')]
        assert not hooks, (name.strip(), hooks)
        # in this process (one torch import for all ten; every installed script is run as a process by other tests)
        code, out, err = run_console_script(getattr(importlib.import_module(mod), fn), '--help')
        assert code == 0 and all(f'--{a.dest}' in out or a.dest in out for a in options), out

def test_rest_frames_builds_the_caches_a_run_opens(tmp_path, env):
    bench = tmp_path/'bench'
    assert run('rest_synth', bench, '--preset', 'mini', '--workers', '2', env=env).returncode == 0
    env = {**env, 'REST_NB_CACHE': str(tmp_path/'cache')}
    r = run('rest_frames', '--data', bench, '--workers', '2', 'train.frame_cache=jpeg', env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [l.split(':')[0] for l in lines] == ['train', 'val'] and all('JPEG q90' in l for l in lines), r.stdout
    built = sorted(p.name for p in (tmp_path/'cache'/'frames').iterdir())
    assert len(built) == 2 and all(name in r.stdout for name in built)
    r = run('rest_frames', '--data', bench, '--preset', 'rest18', env=env)      # the paper presets decode with decord
    assert r.returncode != 0 and 'train.frame_cache=false' in r.stderr
    r = run('rest_frames', 'train.frame_cache=jpeg', env=env)
    assert r.returncode != 0 and '--data is required' in r.stderr
    assert sorted(p.name for p in (tmp_path/'cache'/'frames').iterdir()) == built
