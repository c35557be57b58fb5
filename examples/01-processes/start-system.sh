#!/bin/sh
# start-system.sh — starts a small system of two independent programs
# (system.ts as a server and as a client) from a script, in one of two
# variants: "production" (quiet, many requests) or "diagnostic" (a debug
# log from both, a few requests). The programs are the same; the script
# decides their arguments and environment.
#
# Run:  sh examples/01-processes/start-system.sh [production|diagnostic]
#
# BUN names the bun executable (default: bun on PATH); IPC_PREFIX
# prefixes the name of the shared-memory object the two meet at.

# ANCHOR: script
variant=${1:-production}
here=$(dirname "$0")
bun=${BUN:-bun}
name="/${IPC_PREFIX:-ipcbook}-system-$$"     # one name per run: $$ is this shell's pid

case $variant in
  production) requests=1000; log=warn ;;
  diagnostic) requests=3; log=debug ;;
  *) echo "usage: $0 [production|diagnostic]" >&2; exit 2 ;;
esac

echo "starting the $variant variant, meeting at $name"
IPCBOOK_LOG=$log "$bun" "$here/system.ts" server "$name" &     # in the background
server=$!
IPCBOOK_LOG=$log "$bun" "$here/system.ts" client "$name" --requests "$requests"
client_status=$?
wait "$server"
server_status=$?
echo "client exited with $client_status, server with $server_status"
# ANCHOR_END: script
[ "$client_status" -eq 0 ] && [ "$server_status" -eq 0 ]
