/**
 * Parser of Postgres's text form of arrays (`{1,2,NULL}`, `{"a b","c\"d"}`,
 * `{{1,2},{3,4}}`), as pgoutput and `SELECT` send them. Elements stay text (or null)
 * for the caller to convert by element type.
 */
export type PgArray = Array<string | null | PgArray>;

export function parsePgArray(text: string, delimiter = ','): PgArray {
  let index = 0;
  // An explicit lower bound (`[0:1]={...}`) precedes the braces; JSON has no place for it.
  if (text[0] === '[') index = text.indexOf('=') + 1;
  const parseLevel = (): PgArray => {
    if (text[index] !== '{') throw new TypeError(`not a Postgres array: ${text}`);
    index++;
    const items: PgArray = [];
    if (text[index] === '}') {
      index++;
      return items;
    }
    for (;;) {
      const char = text[index];
      if (char === '{') items.push(parseLevel());
      else if (char === '"') items.push(parseQuoted());
      else items.push(parseBare());
      const next = text[index++];
      if (next === '}') return items;
      if (next !== delimiter) throw new TypeError(`not a Postgres array: ${text}`);
    }
  };
  const parseQuoted = (): string => {
    index++;
    let value = '';
    while (text[index] !== '"') {
      if (text[index] === '\\') index++;
      if (index >= text.length) throw new TypeError(`not a Postgres array: ${text}`);
      value += text[index++];
    }
    index++;
    return value;
  };
  const parseBare = (): string | null => {
    const start = index;
    while (index < text.length && text[index] !== delimiter && text[index] !== '}') index++;
    const value = text.slice(start, index).trim();
    return value === 'NULL' ? null : value;
  };
  return parseLevel();
}
