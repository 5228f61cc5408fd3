#!/usr/bin/env bash
# Runs upstream's data-driven porchctl cases (shared/conformance/cases) end to end:
#   1. the loopback git server, seeded with nephio/test-blueprints (anonymous read, from the
#      bundle) and nephio/porch-test (basic auth nephio/secret, one README commit);
#   2. `porch standalone` (or the apiserver's dev binary until `porch` wires it) on 127.0.0.1;
#   3. `porch-conformance` with the git URL substituted, one namespace per case.
# Extra arguments go to porch-conformance (e.g. `--case rpkg-init`).
# Env: SHARED_DIR (default ../shared/conformance next to the repo), CARGO_TARGET_DIR,
# SKIP_BUILD=1 to use the binaries already built.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=${SHARED_DIR:-$repo/../shared/conformance}
target=${CARGO_TARGET_DIR:-$repo/target}/debug

cd "$repo"
if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --quiet -p porchctl --bins -p porch-git --bin porch-git-server -p porch -p porch-apiserver --bin porch-standalone-dev
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

wait_for_line() { # file pattern seconds
    for _ in $(seq 1 $(( $3 * 10 ))); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "conformance: timed out waiting for '$2' in $1" >&2
    cat "$1" >&2
    return 1
}

"$target/porch-git-server" --root "$work/git" --user nephio:secret \
    --repo nephio/porch-test,readme \
    --seed "nephio/test-blueprints=$shared/test-blueprints.bundle,anon" >"$work/git.out" 2>"$work/git.err" &
pids+=($!)
wait_for_line "$work/git.out" '^http' 30
git_url=$(head -1 "$work/git.out")

if "$target/porch" standalone --help >/dev/null 2>&1; then
    standalone=("$target/porch" standalone)
else
    standalone=("$target/porch-standalone-dev")
fi
"${standalone[@]}" --data-dir "$work/porch" --listen 127.0.0.1:0 >"$work/porch.out" 2>"$work/porch.err" &
pids+=($!)
wait_for_line "$work/porch.out" 'ready' 60

# After a case that writes to porch-test, put it back to one README commit on main (upstream
# recreates the Gitea repository).
host=${git_url#http://}
reset="set -e; t=\$(mktemp -d); git -C \$t init -q -b main; touch \$t/README.md; \
git -C \$t add README.md; git -C \$t -c user.name=porch -c user.email=porch@kpt.dev commit -q -m 'Initial commit'; \
git -C \$t push -q --mirror http://nephio:secret@$host/nephio/porch-test.git; rm -rf \$t"

"$target/porch-conformance" --cases "$shared/cases" --kubeconfig "$work/porch/kubeconfig" \
    --porchctl "$target/porchctl" --git-url-base "$git_url" --workdir "$work" \
    --reset-repo-cmd "$reset" "$@"
