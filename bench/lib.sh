# bench/lib.sh: helpers the bench scripts share (sourced, not run).

# write_member_file LINES FILE: LINES seeded audience lines "ifa:<32 hex>\t<unix seconds>"
# (~10 s per 10M lines). Equal LINES give identical files.
write_member_file() {
  awk -v n="$1" 'BEGIN { srand(1); for (i = 0; i < n; i++)
    printf "ifa:%08x%08x%08x%08x\t%d\n", rand() * 4294967295, rand() * 4294967295,
           rand() * 4294967295, rand() * 4294967295, 1795000000 + i % 86400 }' > "$2"
}

# wait_for_healthz ADMIN_PORT PID: waits (at most 10 s) until the bidder's admin port answers
# /healthz; fails at once when process PID (the bidder, or a wrapper whose child it is) ends.
wait_for_healthz() {
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$1/healthz" > /dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "the bidder did not start" >&2; return 1; }
    sleep 0.1
  done
  echo "the bidder's admin port did not answer within 10 s" >&2
  return 1
}
