"""The seed's Spark Structured Streaming job, for the `spark` baseline of `npm run bench`.

Reads a pre-filled Kafka topic from the earliest offset, runs the seed's query
(from_json -> groupBy(window("timestamp", "1 minute"), "user_id").count()) on local[2]
with the given trigger, and stops once every row up to the end offsets given on the
command line has been processed. Update output mode; each micro-batch's updated rows are
appended to --out as JSON lines, so the last row per (window, user) is the final count.
Progress reports go to stdout, one `PROGRESS <json>` line each, then `DONE <json>`.
"""

import argparse
import json
import time

from pyspark.sql import functions as F
from spark_common import SCHEMA, seed_session


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--trigger", required=True, help="e.g. '30 seconds'")
    parser.add_argument("--jars", required=True, help="folder of the Kafka connector jars")
    parser.add_argument("--out", required=True)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--max-offsets", type=int, default=0)
    args = parser.parse_args()

    spark = seed_session("sluice-bench-seed-query", args.jars)

    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", args.brokers)
        .option("subscribe", args.topic)
        .option("startingOffsets", "earliest")
    )
    if args.max_offsets > 0:
        reader = reader.option("maxOffsetsPerTrigger", str(args.max_offsets))
    events = (
        reader.load()
        .select(F.from_json(F.col("value").cast("string"), SCHEMA).alias("e"))
        .select("e.user_id", F.timestamp_millis(F.col("e.ts")).alias("timestamp"))
    )
    counts = events.groupBy(F.window("timestamp", "1 minute"), "user_id").count()

    out = open(args.out, "a", encoding="utf-8")

    def write_batch(frame, batch_id):
        emitted_ms = int(time.time() * 1000)
        rows = frame.select(
            (F.unix_millis(F.col("window.start"))).alias("window_start"), "user_id", "count"
        ).collect()
        for row in rows:
            out.write(json.dumps({"window_start": row[0], "user_id": row[1], "count": row[2], "batch": batch_id}) + "\n")
        out.flush()
        print("BATCH " + json.dumps({"batch": batch_id, "rows": len(rows), "emittedMs": emitted_ms}), flush=True)

    began = time.time()
    query = (
        counts.writeStream.outputMode("update")
        .foreachBatch(write_batch)
        .option("checkpointLocation", args.checkpoint)
        .trigger(processingTime=args.trigger)
        .start()
    )
    processed = 0
    reported = set()
    while processed < args.events:
        if not query.isActive:
            raise SystemExit(f"query stopped: {query.exception()}")
        time.sleep(0.2)
        for progress in query.recentProgress:
            if progress["batchId"] in reported:
                continue
            reported.add(progress["batchId"])
            processed += progress["numInputRows"]
            print("PROGRESS " + json.dumps(progress), flush=True)
    wall = time.time() - began
    query.stop()
    out.close()
    print("DONE " + json.dumps({"events": processed, "wallSeconds": wall}), flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
