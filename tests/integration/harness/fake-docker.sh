#!/bin/bash
set -u
state="$FAKE_DOCKER_STATE"
printf '%s\t' "$@" >> "$state/calls.log"; printf '\n' >> "$state/calls.log"
unsupported() { echo "fake docker: unsupported invocation: $*" >&2; exit 125; }
container() { [ -d "$state/containers/$1" ]; }
HEALTH='{{if .State.Health}}{{.State.Health.Status}}{{end}}'
RUNNING='{{.State.Running}}'
case "${1:-}" in
  inspect)
    [ $# -eq 4 ] && [ "$2" = --format ] || unsupported "$@"
    container "$4" || { echo "Error: No such object: $4" >&2; exit 1; }
    d="$state/containers/$4"
    if [ "$3" = "$HEALTH" ]; then [ -f "$d/health" ] && cat "$d/health"; echo
    elif [ "$3" = "$RUNNING" ]; then cat "$d/running" 2>/dev/null || echo false
    else unsupported "$@"; fi
    exit 0 ;;
  run)
    [ $# -eq 13 ] && [ "$2 $3 $4 $5 $6 $7 $8" = "--rm -i --network none --user 0:0 -v" ] && [ "${11} ${12}" = "sh -c" ] || unsupported "$@"
    case "$9" in *:/upstreams) vol="${9%:/upstreams}" ;; *) unsupported "$@" ;; esac
    [ -f "$state/images/${10//\//_}" ] || { echo "Unable to find image '${10}' locally" >&2; exit 125; }
    dir="$state/volumes/$vol"
    mkdir -p "$dir"
    cmd="${13}"
    exec sh -c "${cmd//\/upstreams/$dir}" ;;
  exec)
    [ $# -ge 3 ] || unsupported "$@"
    container "$2" || { echo "Error: No such container: $2" >&2; exit 1; }
    [ "$(cat "$state/containers/$2/running" 2>/dev/null)" = true ] || { echo "Error response from daemon: container $2 is not running" >&2; exit 1; }
    name="$2"; shift 2
    exec sh "$state/containers/$name/exec.sh" "$@" ;;
  *) unsupported "$@" ;;
esac
