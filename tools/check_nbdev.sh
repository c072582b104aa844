#!/usr/bin/env bash
# The nbdev invariants `make test` enforces: running nbdev_export, nbdev_clean and the README
# generator must change nothing. Exits 1 naming every file they changed.
set -euo pipefail
cd "$(dirname "$0")/.."
snap() { find rest_nb nbs README.md -type f \( -name '*.py' -o -name '*.ipynb' -o -name '*.md' \) \
           -not -path '*/.ipynb_checkpoints/*' -not -path '*/__pycache__/*' -print0 2>/dev/null \
         | sort -z | xargs -0 md5sum; }
before=$(snap)
nbdev_export
after_export=$(snap)
nbdev_clean
after_clean=$(snap)
python tools/make_readme.py
after_readme=$(snap)
fail=0
report() { # $1 what, $2 before, $3 after
  local d; d=$(diff <(echo "$2") <(echo "$3") | grep '^[<>]' | awk '{print $3}' | sort -u || true)
  if [ -n "$d" ]; then echo "FAIL: $1 changed: $(echo $d)"; fail=1; fi
}
report "nbdev_export (library not in sync with nbs/; export and commit)" "$before" "$after_export"
report "nbdev_clean (notebooks not clean; run nbdev_clean and commit)" "$after_export" "$after_clean"
report "tools/make_readme.py (README.md not generated from nbs/index.ipynb)" "$after_clean" "$after_readme"
[ $fail -eq 0 ] && echo "nbdev invariants hold: library in sync, notebooks clean, README generated"
exit $fail
