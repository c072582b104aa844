"""Every mistake a user can make at a console script ends in one line on stderr that names the offending value, a non-zero exit
status and no traceback. A table of bad invocations across all console scripts, on real files: the short demo run of the test
suite, a truncated and a crafted checkpoint, a file where a folder is expected, paths that do not exist.

Each invocation runs the console script's entry point (from settings.ini) with its arguments in a child process forked from
this one, which has imported the package once: a fresh interpreter per invocation would spend ~5 s of CPU importing torch,
60 times. The child does what the installed script does (`sys.exit(entry())`; an uncaught exception prints its traceback),
with stderr on a pipe. `test_debug_shows_the_traceback`, and test_cli.py's `--help` of every script, run the installed
scripts themselves."""
import importlib, io, os, shutil, subprocess, sys, traceback
from configparser import ConfigParser
import pytest, torch
from conftest import BIN, ROOT
from rest_nb.data import read_manifest
from rest_nb.demo import demo_bench, demo_run

class _Creates:
    "Unpickling this calls os.mkdir(path): what a crafted checkpoint could do instead of loading weights."
    def __init__(self, path): self.path = path
    def __reduce__(self): return (os.mkdir, (self.path,))

@pytest.fixture(scope='module')
def world(tmp_path_factory):
    "The files the bad invocations point at."
    tmp = tmp_path_factory.mktemp('cli')
    bench, run = demo_bench(), demo_run(quick=True)
    broken = tmp/'broken_run'; shutil.copytree(run, broken)
    for name in ('best.pt', 'last.pt'):                                    # truncated checkpoints, as a killed copy leaves them
        data = (broken/name).read_bytes(); (broken/name).write_bytes(data[:len(data)//3])
    crafted = tmp/'crafted_run'; shutil.copytree(run, crafted)
    ck = torch.load(crafted/'best.pt', weights_only=True); ck['payload'] = _Creates(str(tmp/'created-by-unpickling'))
    torch.save(ck, crafted/'best.pt')
    (tmp/'afile.txt').write_text('not a folder')
    video = read_manifest(bench, 'target_a').records[0].path
    return dict(tmp=tmp, bench=bench, run=run, broken=broken, crafted=crafted, afile=tmp/'afile.txt', video=video)

def table(w):
    "(script, arguments, what the one line must contain)."
    t, b, r = w['tmp'], w['bench'], w['run']
    return [
        ('rest_train', ['--data', t/'nowhere', '--out', t/'r1'], 'nowhere'),
        ('rest_train', ['--data', b, '--out', t/'r2', 'train.batch_size=0'], 'train.batch_size=0'),
        ('rest_train', ['--data', b, '--out', t/'r3', 'clip.frames=x'], "clip.frames='x'"),
        ('rest_train', ['--data', b, '--out', t/'r4', 'frames=4'], "'frames=4'"),
        ('rest_train', ['--data', b, '--out', t/'r5', '--preset', 'rest50'], 'rest50'),
        ('rest_train', ['--data', b, '--out', t/'r6', '--device', 'cuda:7'], "'cuda:7'"),
        ('rest_train', ['--data', b, '--out', t/'r7', '--device', 'gpu'], "'gpu'"),
        ('rest_train', ['--out', t/'r8', '--resume'], 'r8'),
        ('rest_train', ['--out', w['broken'], '--resume'], 'last.pt is corrupt'),
        ('rest_train', ['--data', b, '--threshold', 'abc'], "'abc'"),
        ('rest_train', ['--data', b, '--bogus'], '--bogus'),
        ('rest_train', ['--data', b, '--out', t/'r9', '--targets', 'ucf101'], '--targets'),
        ('rest_frames', ['train.frame_cache=jpeg'], '--data'),
        ('rest_frames', ['--data', b, '--workers', '-1'], '--workers -1'),
        ('rest_frames', ['--data', b, '--preset', 'rest18'], 'train.frame_cache=false'),
        ('rest_frames', ['--data', w['afile']], "afile.txt' is a file"),
        ('rest_eval', [r, b, '--cv', '--clips', '0'], '--clips 0'),
        ('rest_eval', [r, b, '--K', 'five', '--tau', '0.9', '--rho', '3'], '--K five'),
        ('rest_eval', [r, b, '--K', '3', '--tau', '0.9'], '--rho'),
        ('rest_eval', [r, b, '--K', '0', '--tau', '0.9', '--rho', '3'], 'K=0'),
        ('rest_eval', [t/'norun', b, '--cv'], 'norun'),
        ('rest_eval', [w['broken'], b, '--cv'], 'best.pt is corrupt'),
        ('rest_eval', [w['crafted'], b, '--cv'], '--trust_checkpoint'),
        ('rest_eval', [r, b, '--cv', '--device', 'cuda:7'], "'cuda:7'"),
        ('rest_eval', [r, b, '--cv', '--targets', 'target_z'], 'target_z'),
        ('rest_eval', [r, b, '--cv', '--targets', f"ucf101={t/'nowhere'/'UCF-101'}"], 'UCF-101'),
        ('rest_eval', [r, t/'nodata', '--cv'], 'nodata'),
        ('rest_features', [r, b, '--target', 'target_z'], 'target_z'),
        ('rest_features', [r, b, '--clips', '0'], '--clips 0'),
        ('rest_features', [w['broken'], b], 'best.pt is corrupt'),
        ('rest_features', [r, b, '--device', 'cuda:7'], "'cuda:7'"),
        ('rest_demo', ['--data', t/'nowhere'], 'nowhere'),
        ('rest_demo', ['--draw', 'x'], "'x'"),
        ('rest_predict', ['demo', w['video']], '--labels'),
        ('rest_predict', ['demo', w['video'], '--labels', 'bounce ball', '--topk', '0'], '--topk 0'),
        ('rest_predict', ['demo', w['video'], '--labels', 'bounce ball', '--topk', '-1'], '--topk -1'),
        ('rest_predict', ['demo', t/'nothing.mp4', '--labels', 'bounce ball'], 'nothing.mp4'),
        ('rest_predict', [w['broken'], w['video'], '--labels', 'bounce ball'], 'best.pt is corrupt'),
        ('rest_predict', [w['crafted'], w['video'], '--labels', 'bounce ball'], '--trust_checkpoint'),
        ('rest_predict', ['demo', w['video'], '--labels', 'bounce ball', '--device', 'cuda:7'], "'cuda:7'"),
        ('rest_predict', ['demo', w['video'], '--labels', 'bounce ball', '--K', 'many'], 'many'),
        ('rest_predict', ['demo', w['video'], '--labels_file', t/'labels.txt'], 'labels.txt'),
        ('rest_check_videos', [t/'nowhere'], 'nowhere'),
        ('rest_check_videos', [w['afile']], 'afile.txt'),
        ('rest_check_videos', [t, '--min_frames', 'two'], "'two'"),
        ('rest_flops', ['--preset', 'rest50'], 'rest50'),
        ('rest_overlap', ['--source', 'kinetics999'], 'kinetics999'),
        ('rest_synth', [t/'s1', '--preset', 'huge'], 'huge'),
        ('rest_synth', [w['afile'], '--preset', 'mini'], 'afile.txt'),
        ('rest_synth', [t/'s2', '--fps', '0'], 'fps=0'),
        ('rest_synth', [t/'s3', '--noise', '-1'], 'noise=-1'),
        ('rest_synth', [t/'s4', '--crf', '99'], 'crf=99'),
        ('rest_synth', [t/'s5', '--workers', '-1'], 'workers=-1'),
        ('rest_overlap', ['--threshold', '-1'], 'threshold=-1'),
        ('rest_flops', ['--n_classes', '0'], 'n_classes=0'),
    ]

def run(script, args):
    "(exit status, stderr) of the installed console script `script` with `args`, in a fresh interpreter."
    env = {**os.environ, 'REST_NB_QUICK': '1', 'PATH': f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop('REST_NB_DEBUG', None)
    r = subprocess.run([str(BIN/script), *map(str, args)], capture_output=True, text=True, env=env, timeout=600)
    return r.returncode, r.stderr

def entry_points()->dict:
    "Console script name -> its entry point function, as settings.ini declares them."
    cfg = ConfigParser(); cfg.read(ROOT/'settings.ini')
    rows = [l.split('=', 1) for l in cfg['DEFAULT']['console_scripts'].splitlines() if l.strip()]
    return {n.strip(): getattr(importlib.import_module(t.strip().split(':')[0]), t.strip().split(':')[1]) for n, t in rows}

def run_forked(entry, script, args):
    "(exit status, stderr) of `entry` run as console script `script` with `args`, in a child forked from this process."
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                                          # the child: what the installed script does
        code = 1
        try:
            os.close(r); os.dup2(w, 2); null = os.open(os.devnull, os.O_WRONLY); os.dup2(null, 1)
            sys.stderr, sys.stdout = io.TextIOWrapper(os.fdopen(w, 'wb', 0), write_through=True), open(os.devnull, 'w')
            os.environ['REST_NB_QUICK'] = '1'; os.environ.pop('REST_NB_DEBUG', None)
            torch.set_num_threads(1)
            sys.argv = [script, *map(str, args)]
            try: sys.exit(entry())
            except SystemExit as e:                                       # as the interpreter ends on SystemExit
                if isinstance(e.code, str): print(e.code, file=sys.stderr); code = 1
                else: code = e.code or 0
            except BaseException: traceback.print_exc(); code = 1
            sys.stderr.flush()
        finally: os._exit(code)
    os.close(w)
    with os.fdopen(r, 'rb') as f: err = f.read().decode(errors='replace')
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), err

def test_every_mistake_is_one_line(world):
    rows = table(world)
    assert len(rows) >= 40 and len({s for s, _, _ in rows}) == 10          # every console script
    entries = entry_points()
    results = [run_forked(entries[script], script, args) for script, args, _ in rows]
    bad = []
    for (script, args, want), (code, err) in zip(rows, results):
        lines = err.strip().splitlines()
        ok = code not in (0, None) and 'Traceback' not in err and len(lines) == 1 and lines[0].startswith(f'{script}: ') and want in lines[0]
        if not ok: bad.append(f"{script} {' '.join(map(str, args))}\n  exit {code}, stderr: {err.strip()[-600:]!r}\n  wanted: {want!r}")
    assert not bad, f"{len(bad)} of {len(rows)} invocations:\n" + '\n'.join(bad)
    assert not (world['tmp']/'created-by-unpickling').exists()             # the crafted checkpoint never ran its code

def test_debug_shows_the_traceback(world):
    code, err = run('rest_eval', [world['broken'], world['bench'], '--cv', '--debug'])
    assert code != 0 and 'Traceback' in err and 'CheckpointError' in err
