#!/bin/sh
# The grader's box: where one chapter of one submission is graded.
# tools/grading/box.ts starts it; nothing else should.
#
#   box.sh outer CGROUP|- COMMAND...
#       Joins the pids cgroup CGROUP (a bound on the number of processes,
#       also for a fork bomb), then runs COMMAND: `unshare ... box.sh inner`.
#
#   box.sh inner [--net] WORK W ROOT COMMAND...
#       Runs as process 1 of fresh IPC, mount and PID namespaces (and a
#       network namespace with --net) and sets them up before it runs
#       COMMAND (the graded test):
#       - with --net, only the loopback interface;
#       - a private /dev/shm and /dev/mqueue: no other submission's objects
#         are visible, and whatever this one leaves dies with the box;
#       - the grading folder WORK (every submission's copy, every result)
#         hidden, except W, this box's own folder;
#       - ROOT/solutions hidden;
#       - every mount read-only except W, /dev/shm and /dev/mqueue.
#       The student's processes also lose every capability (setpriv, see
#       IPC_STUDENT_WRAP), so they cannot undo any of this.
#       It exits 97 when the box could not be built.
set -u

fail() {
  echo "box.sh: $*" >&2
  exit 97
}

phase=${1:-}
shift || true

if [ "$phase" = outer ]; then
  cgroup=$1
  shift
  if [ "$cgroup" != - ]; then
    echo $$ >"$cgroup/cgroup.procs" || fail "cannot join the cgroup $cgroup"
  fi
  exec "$@"
fi

# unshare may have been found with helpers first in PATH (tools/grading/userns): not for the box.
if [ -n "${IPC_BOX_PATH:-}" ]; then
  PATH=$IPC_BOX_PATH
  export PATH
fi
unset IPC_BOX_PATH

[ "$phase" = inner ] || fail "usage: box.sh outer CGROUP COMMAND... | box.sh inner [--net] WORK W ROOT COMMAND..."
if [ "${1:-}" = --net ]; then
  shift
  ip link set lo up || fail "cannot bring up the loopback interface"
fi
work=$1 w=$2 root=$3
shift 3

mount --make-rprivate / 2>/dev/null || true
if [ -d /dev/shm ]; then
  mount -t tmpfs -o nosuid,nodev,size=512m,mode=1777 ipcbook-shm /dev/shm || fail "cannot mount a private /dev/shm"
fi
if [ -d /dev/mqueue ]; then
  mount -t mqueue -o nosuid,nodev,noexec ipcbook-mqueue /dev/mqueue || fail "cannot mount a private /dev/mqueue"
fi

# Hide WORK under an empty file system, then bring back W at its own path
# through a descriptor opened before (so that `mount` does not look the path
# up again in the new, empty WORK). Descriptor 3 is the test's results
# channel (IPC_RESULTS_FD): leave it alone.
exec 8<"$w" || fail "cannot open $w"
mount -t tmpfs -o size=64k,mode=0755 ipcbook-hidden "$work" || fail "cannot hide $work"
mkdir -p "$w" || fail "cannot recreate $w"
mount --no-canonicalize --bind /proc/self/fd/8 "$w" || fail "cannot bring back $w"
exec 8<&-
if [ -d "$root/solutions" ]; then
  mount -t tmpfs -o ro,size=4k,mode=0555 ipcbook-hidden "$root/solutions" || fail "cannot hide $root/solutions"
fi

# Everything else read-only. /proc/self/mountinfo: ID PARENT DEV ROOT MOUNTPOINT OPTIONS ...
# (a mount point with a space in it is written with \040 and left as it is).
while read -r _id _parent _dev _root point options _rest; do
  case "$options" in ro | ro,*) continue ;; esac
  case "$point" in "$w" | /dev/shm | /dev/mqueue) continue ;; *\\*) continue ;; esac
  mount -o "remount,bind,ro,${options#rw,}" "$point" 2>/dev/null || mount -o remount,bind,ro "$point" 2>/dev/null ||
    case "$point" in
      / | "$root" | "$work" | /tmp) fail "cannot make $point read-only" ;;
      *) echo "box.sh: warning: $point stays writable" >&2 ;;
    esac
done </proc/self/mountinfo

probe="$root/.ipcbook-box-probe-$$"
if (: >"$probe") 2>/dev/null; then
  rm -f "$probe"
  fail "$root is still writable"
fi

"$@"
