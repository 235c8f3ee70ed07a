#!/usr/bin/env bash
# Fuzzes the frame reader and pre-aggregation for a bounded time (default 60 s), seeded
# with the bad and good frames of the codec tests. Needs a nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz`). Usage: native/fuzz/run.sh [seconds]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
seconds="${1:-60}"
corpus="$here/corpus/frame_aggregate"
mkdir -p "$corpus"
cp "$here"/../../test/unit/codecs/bad-frames/*.bin "$here"/../../test/unit/codecs/good-frames/*.bin "$corpus"/
cd "$here"
exec cargo +nightly fuzz run frame_aggregate "$corpus" -- -max_total_time="$seconds" -rss_limit_mb=1024
