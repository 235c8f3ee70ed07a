#!/usr/bin/env bash
# Installs the benchmark baselines' toolchains under bench/baselines/.cache (git-ignored).
# Safe to run twice: each step is skipped when its stamp matches its input file.
#   spark: a Python venv with pyspark (spark/requirements.txt) and Spark's Kafka
#          connector jars from Maven Central (spark/pom.xml, same Spark version).
# naive-node needs nothing beyond the project's node_modules.
# Exits non-zero with a one-line reason when a toolchain cannot be installed; the bench
# then reports that baseline as skipped.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="$here/.cache"
mkdir -p "$cache"

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "install.sh: $1 not found; the spark baseline needs it" >&2; exit 1; }
}

stamp_ok() { # stamp file, input file
  [[ -f "$1" ]] && cmp -s "$1" "$2"
}

install_spark() {
  need java
  need mvn
  need python3
  local venv="$cache/spark-venv"
  if ! stamp_ok "$cache/spark-venv.stamp" "$here/spark/requirements.txt"; then
    echo "install.sh: creating $venv with $(tr '\n' ' ' <"$here/spark/requirements.txt")"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r "$here/spark/requirements.txt"
    cp "$here/spark/requirements.txt" "$cache/spark-venv.stamp"
  fi
  local jars="$cache/spark-jars"
  if ! stamp_ok "$cache/spark-jars.stamp" "$here/spark/pom.xml"; then
    echo "install.sh: copying the spark-sql-kafka jars into $jars"
    rm -rf "$jars"
    mvn -q -B -f "$here/spark/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$jars" -DincludeScope=runtime \
      -DexcludeGroupIds=org.xerial.snappy,com.github.luben,org.lz4,org.slf4j,org.apache.hadoop,com.google.code.findbugs,org.scala-lang
    cp "$here/spark/pom.xml" "$cache/spark-jars.stamp"
  fi
  echo "install.sh: spark ready ($venv, $(ls "$jars" | wc -l) connector jars)"
}

case "${1:-all}" in
  spark | all) install_spark ;;
  *) echo "usage: bench/baselines/install.sh [spark|all]" >&2; exit 2 ;;
esac
