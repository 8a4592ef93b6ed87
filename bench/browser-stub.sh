#!/bin/sh
# A stand-in browser for bench/login.ts, used as
#   k8s-auth login --browser-command 'bench/browser-stub.sh <marker-file>' ...
# The CLI appends the sign-in URL as the last argument. Writes one line to the marker file:
# the wall clock in nanoseconds (date +%s%N) and the URL. Starting sh and forking date costs
# about 2 ms; bench/login.ts measures that overhead in the same run and reports it.
marker=$1
now=$(date +%s%N)
eval "url=\${$#}"
printf '%s %s\n' "$now" "$url" > "$marker"
