#!/bin/sh
# A stand-in browser for kubelogin in bench/kubelogin.ts: kubelogin runs `--browser-command` as
# `<command> <url>` (one program, no arguments of its own), so the marker file comes from the
# environment. Writes the same line as bench/browser-stub.sh (same cost: sh and a fork of date):
# the wall clock in nanoseconds and the URL.
now=$(date +%s%N)
printf '%s %s\n' "$now" "$1" > "$K8S_AUTH_BENCH_MARKER"
