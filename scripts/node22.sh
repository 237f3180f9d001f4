# Puts Node 22 first on PATH, installing it from the npm registry when the machine's node is older.
#
#   . scripts/node22.sh && npm ci && npm test
#
# Sourced, not executed, so the PATH change reaches the commands that follow; for that reason it is
# POSIX sh (bash and dash both source it), sets no shell options and returns instead of exiting.
# The dependencies need Node >= 22.13 (@pulumi/pulumi and kubernetes-models say >=22, eslint
# ^22.13.0); Debian 12 machines ship Node 20. Node's binary is on npm as node-linux-<arch>: the
# `node` package only runs a preinstall script that installs it, which npm's allow-scripts policy
# may refuse, so the binary package is installed directly (it has no install scripts at all).
# The machine's npm stays in use: it starts with `#!/usr/bin/env node`, so it runs on Node 22 too.
# Variables: DJANGOSTACK_NODE_VERSION (default below), DJANGOSTACK_TOOLS (install root, default
# ~/.cache/djangostack; kept outside the repo so clones share it and git never sees it).

djangostack_node22() {
  _dn_version="${DJANGOSTACK_NODE_VERSION:-22.23.5}"
  _dn_min_minor=13
  _dn_current="$(node -v 2>/dev/null || true)"
  _dn_major="$(printf '%s' "$_dn_current" | sed -n 's/^v\([0-9]*\)\.\([0-9]*\)\..*/\1/p')"
  _dn_minor="$(printf '%s' "$_dn_current" | sed -n 's/^v\([0-9]*\)\.\([0-9]*\)\..*/\2/p')"
  if [ -n "$_dn_major" ] && { [ "$_dn_major" -gt 22 ] || { [ "$_dn_major" -eq 22 ] && [ "$_dn_minor" -ge "$_dn_min_minor" ]; }; }; then
    return 0
  fi
  case "$(uname -m)" in
    x86_64 | amd64) _dn_arch=x64 ;;
    aarch64 | arm64) _dn_arch=arm64 ;;
    *) echo "node22.sh: no node-linux binary package for $(uname -m); install Node >= 22.13 yourself" >&2; return 1 ;;
  esac
  _dn_dir="${DJANGOSTACK_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/djangostack}/node-v$_dn_version-$_dn_arch"
  _dn_bin="$_dn_dir/node_modules/node-linux-$_dn_arch/bin"
  if [ ! -x "$_dn_bin/node" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "node22.sh: node ${_dn_current:-missing} is older than 22.13 and there is no npm to fetch Node $_dn_version" >&2
      return 1
    fi
    echo "node22.sh: node ${_dn_current:-missing} is older than 22.13; installing node-linux-$_dn_arch@$_dn_version into $_dn_dir" >&2
    mkdir -p "$_dn_dir" || return 1
    npm install --prefix "$_dn_dir" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
      --loglevel=error "node-linux-$_dn_arch@$_dn_version" >&2 || return 1
  fi
  PATH="$_dn_bin:$PATH"
  export PATH
  hash -r 2>/dev/null || true
  case "$(node -v)" in
    v22.*) echo "node22.sh: using node $(node -v) from $_dn_bin" >&2 ;;
    *) echo "node22.sh: $_dn_bin/node is $(node -v), not 22" >&2; return 1 ;;
  esac
}

djangostack_node22
