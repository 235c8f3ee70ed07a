"""What the bench's two Spark drivers share: the session (local[2], the Kafka connector
jars, 8 shuffle partitions, no UI) and the seed's event schema."""

import os

from pyspark.sql import SparkSession
from pyspark.sql.types import LongType, StringType, StructField, StructType

SCHEMA = StructType([StructField("user_id", StringType()), StructField("ts", LongType())])


def seed_session(app_name: str, jars_folder: str) -> SparkSession:
    jars = ",".join(
        os.path.join(jars_folder, name) for name in sorted(os.listdir(jars_folder)) if name.endswith(".jar")
    )
    spark = (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.jars", jars)
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark
