"Label semantics as a user meets them: the default vectors from a fresh cache, offline, and rest_overlap."
import json, subprocess, sys
from conftest import BIN

def run(args, env):
    return subprocess.run([str(BIN/'rest_overlap'), *map(str, args)], capture_output=True, text=True, env=env, timeout=300)

def test_default_vectors_from_a_fresh_cache_offline(tmp_path, env):
    "A first load converts the package's vectors into an empty cache, with the network blocked; the second memory-maps them."
    env = {**env, 'REST_NB_CACHE': str(tmp_path/'cache'), 'HF_HUB_OFFLINE': '1', 'http_proxy': 'http://127.0.0.1:9', 'https_proxy': 'http://127.0.0.1:9'}
    code = ("import socket\n"
            "def _no_net(*a, **k): raise OSError('network disabled in this test')\n"
            "socket.socket.connect = _no_net\n"
            "from rest_nb.semantic import load_vectors\n"
            "kv = load_vectors(); print(len(kv), kv.vector_size, type(kv.vectors).__name__)\n")
    files = lambda: sorted(p.relative_to(tmp_path/'cache').as_posix() for p in (tmp_path/'cache').rglob('*') if p.is_file())
    assert not (tmp_path/'cache').exists()
    for _ in range(2):                                              # convert, then load the converted copy
        r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ['400000', '50', 'memmap']
        assert files() == ['vectors/glove-6b-50d/vectors.kv', 'vectors/glove-6b-50d/vectors.kv.vectors.npy']   # no temp files left

def test_rest_overlap_kinetics(tmp_path, env):
    out = tmp_path/'overlap.json'
    r = run(['--source', 'kinetics700', '--targets', 'ucf101', 'hmdb51', '--out', out], env)
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())
    assert f"{len(d['kept'])} kept, {len(d['removed'])} removed of 700" in r.stdout
    removed = {x['source']: x for x in d['removed']}
    assert 'archery' in removed and removed['archery']['target'] == 'Archery' and removed['archery']['distance'] == 0
    assert all(x['distance'] <= 0.05 for x in d['removed'])
    r3 = run(['--targets', 'ucf101', 'hmdb51', 'activitynet200', '--threshold', '0.05'], env)
    kept3 = int(r3.stdout.split(' kept')[0].split()[-1])
    assert kept3 < len(d['kept'])                                   # more targets, fewer kept

def test_rest_overlap_files_and_threshold(tmp_path, env):
    (tmp_path/'src.txt').write_text('bounce ball\nroll box\nspin star\n')
    (tmp_path/'tgt.txt').write_text('bounce ball\nroll ring\n')
    r = run(['--source', tmp_path/'src.txt', '--targets', tmp_path/'tgt.txt', '--threshold', '0'], env)
    assert r.returncode == 0, r.stderr
    assert '2 kept, 1 removed of 3' in r.stdout and "'bounce ball'" in r.stdout
    r = run(['--source', tmp_path/'src.txt', '--targets', tmp_path/'tgt.txt', '--threshold', '2'], env)
    assert '0 kept, 3 removed of 3' in r.stdout

def test_rest_overlap_errors(tmp_path, env):
    r = run(['--targets', 'ucf102'], env)
    assert r.returncode != 0 and 'ucf102' in r.stderr
    r = run(['--vectors', tmp_path/'missing.bin'], env)
    assert r.returncode != 0 and 'missing.bin' in r.stderr
    (tmp_path/'src.txt').write_text('zxqv blorf\n')
    r = run(['--source', tmp_path/'src.txt'], env)
    assert r.returncode != 0 and "label 'zxqv blorf'" in r.stderr
