#!/usr/bin/env bash
# Fuzzes one target of native/fuzz for a bounded time (default 60 s): frame_aggregate (frame
# checks, LZ4, msgpack, pre-aggregation, the frame field reader) or message_fields (the JSON
# and msgpack field readers, Kafka record batches). It builds the target the way cargo-fuzz
# does — libFuzzer with sanitizer coverage and AddressSanitizer, nightly toolchain — without
# needing cargo-fuzz installed, seeds the corpus (the codec tests' frames, a few messages),
# and exits non-zero when libFuzzer finds a crash (kept under artifacts/<target>/).
# Usage: native/fuzz/run.sh <target> [seconds]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${1:?usage: run.sh <frame_aggregate|message_fields> [seconds]}"
seconds="${2:-60}"
triple="x86_64-unknown-linux-gnu"
corpus="$here/corpus/$target"
artifacts="$here/artifacts/$target"
mkdir -p "$corpus" "$artifacts"
case "$target" in
  frame_aggregate)
    cp "$here"/../../test/unit/codecs/bad-frames/*.bin "$here"/../../test/unit/codecs/good-frames/*.bin "$corpus"/ ;;
  message_fields)
    printf '{"ts":1714564800000,"k":"u1","v":2.5,"page":"/p/1"}' > "$corpus/json-event"
    printf '{"k":"\\u00e9\\ud83d\\ude00","ts":"2024-05-01T12:00:00Z","v":-0.0e-3,"x":[1,{"y":null}]}' > "$corpus/json-escapes"
    printf '\x83\xa2ts\xcb\x42\x78\xf3\x5e\x2a\x00\x00\x00\xa1k\xa2u1\xa1v\xca\x3f\x9d\x70\xa4' > "$corpus/msgpack-event" ;;
  *) echo "unknown fuzz target $target" >&2; exit 2 ;;
esac
cd "$here"
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Zsanitizer=address \
-Cdebug-assertions -Ccodegen-units=1" \
  cargo +nightly build --quiet --release --target "$triple" --bin "$target"
exec "target/$triple/release/$target" "$corpus" -artifact_prefix="$artifacts/" \
  -max_total_time="$seconds" -rss_limit_mb=1024 -print_final_stats=1
