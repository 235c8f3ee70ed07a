"""The seed's Spark Structured Streaming query on a LIVE Kafka topic, for the live part of
the `kafka-json` bench (the trigger search and event-time -> output latency).

One SparkSession (local[2]) serves several runs, so the JVM starts once. Commands come on
stdin, one per line:
  RUN <tag> <trigger ms> <batches> <max seconds>
                                     start the seed's query (startingOffsets latest, its
                                     own checkpoint) with that processing-time trigger,
                                     run it until micro-batch <batches> has completed (ids
                                     count from 0) or <max seconds> have passed, stop it,
                                     print `ENDRUN <tag>`
  QUIT                               stop Spark and exit
Each micro-batch's updated rows (update output mode, as in the seed) are appended to
<out>/<tag>.jsonl with the batch id. Every progress report is printed as
`PROGRESS <tag> <json>`; its observedMetrics["batch"] holds the oldest and newest event
time (`ts`, ms) of the batch's input, observed on the input without changing the query.
Spark's continuous trigger does not support aggregations, so it is not a candidate.
"""

import argparse
import json
import os
import sys
import time

from pyspark.sql import functions as F
from spark_common import SCHEMA, seed_session


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--jars", required=True, help="folder of the Kafka connector jars")
    parser.add_argument("--out", required=True, help="folder for <tag>.jsonl and checkpoints")
    args = parser.parse_args()

    spark = seed_session("sluice-bench-seed-query-live", args.jars)
    print("READY", flush=True)

    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "QUIT":
            break
        tag, trigger_ms, batches, seconds = words[1], int(words[2]), int(words[3]), float(words[4])
        events = (
            spark.readStream.format("kafka")
            .option("kafka.bootstrap.servers", args.brokers)
            .option("subscribe", args.topic)
            .option("startingOffsets", "latest")
            .load()
            .select(F.from_json(F.col("value").cast("string"), SCHEMA).alias("e"))
            .select("e.user_id", "e.ts")
            .observe("batch", F.min("ts").alias("oldest"), F.max("ts").alias("newest"))
            .select("user_id", F.timestamp_millis(F.col("ts")).alias("timestamp"))
        )
        counts = events.groupBy(F.window("timestamp", "1 minute"), "user_id").count()
        out = open(os.path.join(args.out, tag + ".jsonl"), "a", encoding="utf-8")

        def write_batch(frame, batch_id, out=out):
            # The JVM writes each row's JSON; Python only joins the lines.
            rows = frame.select(
                F.to_json(
                    F.struct(
                        F.unix_millis(F.col("window.start")).alias("window_start"),
                        "user_id",
                        "count",
                        F.lit(batch_id).alias("batch"),
                    )
                )
            ).collect()
            out.write("".join(row[0] + "\n" for row in rows))
            out.flush()

        query = (
            counts.writeStream.outputMode("update")
            .foreachBatch(write_batch)
            .option("checkpointLocation", os.path.join(args.out, "checkpoint-" + tag))
            .trigger(processingTime=f"{trigger_ms} milliseconds")
            .start()
        )
        reported = set()

        def report() -> None:
            for progress in query.recentProgress:
                if progress["batchId"] in reported:
                    continue
                reported.add(progress["batchId"])
                print(f"PROGRESS {tag} " + json.dumps(progress), flush=True)

        ends = time.time() + seconds
        while time.time() < ends and max(reported, default=-1) < batches:
            if not query.isActive:
                raise SystemExit(f"query stopped: {query.exception()}")
            time.sleep(0.2)
            report()
        query.stop()
        report()
        out.close()
        print(f"ENDRUN {tag}", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
