/**
 * pg-logical-replication's pgoutput plugin, with column values left as Postgres text.
 *
 * The stock parser converts values with node-postgres's type parsers (a `timestamp`
 * becomes a Date in the process's time zone, `json` an object); Debezium's mapping needs
 * the text itself, as the snapshot's `SELECT` returns it, so both paths convert in one
 * place (`pg-values.ts`). The parser still marks an unchanged TOASTed value as
 * `undefined` (taken from the old row when REPLICA IDENTITY FULL sent one).
 */
import { PgoutputPlugin } from 'pg-logical-replication';

const RAW_TEXT = (value: unknown) => value;

interface ParserInternals {
  readRelationColumn(reader: unknown): { parser: (raw: unknown) => unknown };
}

export function createRawPgoutputPlugin(publication: string): PgoutputPlugin {
  const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication], messages: true });
  const parser = (plugin as unknown as { parser: ParserInternals }).parser;
  const readColumn = parser.readRelationColumn.bind(parser);
  parser.readRelationColumn = (reader) => ({ ...readColumn(reader), parser: RAW_TEXT });
  return plugin;
}
