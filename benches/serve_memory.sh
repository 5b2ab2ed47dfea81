#!/bin/bash
# Resident memory of `customs-bot serve` through reindexes under load (issue #9; BENCHMARKS.md).
#
#   benches/serve_memory.sh [KNOWLEDGE_DIR] [REINDEXES]     (defaults: knowledge/, 30)
#
# Copies KNOWLEDGE_DIR and bot.toml to a temporary site, starts `serve` (web front only, on a free
# port, rate limit lifted), sends POST /api/ask from a curl loop on 127.0.0.1 without pause, runs
# `customs-bot reindex` REINDEXES times (each time waiting until serve has switched to the new
# generation) and prints VmRSS / VmHWM of serve after each and at rest. For the laws corpus, write
# it as a knowledge folder first: python3 benches/corpus_to_knowledge.py.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/customs-bot}
SRC=${1:-knowledge}; N=${2:-30}
SITE=$(mktemp -d); trap 'touch $SITE/stop; kill $SPID 2>/dev/null; rm -rf $SITE' EXIT
cp -r "$SRC" "$SITE/knowledge"; cp bot.toml "$SITE/"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -i "s/listen = \"127.0.0.1:8080\"/listen = \"127.0.0.1:$PORT\"/; s/requests_per_minute = 30/requests_per_minute = 100000/" "$SITE/bot.toml"
"$BIN" --config "$SITE/bot.toml" reindex >/dev/null
env -u TELOXIDE_TOKEN "$BIN" --config "$SITE/bot.toml" serve 2>"$SITE/serve.log" &
SPID=$!
until grep -q "serving the web front" "$SITE/serve.log"; do sleep 0.1; done
mem() { awk '/VmRSS|VmHWM/{printf "%s %.1f MiB  ", $1, $2/1024}' /proc/$SPID/status; }
echo "start: $(mem)"
( while [ ! -f "$SITE/stop" ]; do
    for q in 滞报金怎么算 知识产权海关保护备案怎么办 转关要什么条件 报关单怎么撤销 今天天气怎么样; do
      curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"question\":\"$q\"}" "http://127.0.0.1:$PORT/api/ask" || true
    done
  done ) &
CPID=$!
for n in $(seq "$N"); do
  "$BIN" --config "$SITE/bot.toml" reindex >/dev/null 2>&1
  until [ "$(grep -c 'switched to the new index' "$SITE/serve.log")" -ge "$n" ]; do sleep 0.1; done
  echo "after reindex $n: $(mem)"
done
touch "$SITE/stop"; wait $CPID || true
sleep 3
echo "at rest: $(mem) ($(grep -c 'question' "$SITE/serve.log") questions answered)"
