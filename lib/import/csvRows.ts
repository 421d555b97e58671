/**
 * Reading the import CSVs: a file's header checked and its rows counted up front, then its
 * data rows streamed with their line numbers, and their cells read.
 */
import { createReadStream } from 'node:fs';
import { type Parser, parse } from 'csv-parse';

/** A CSV file whose header was checked, and how many data rows it has. */
export interface CheckedCsv {
  file: string;
  columns: string[];
  rows: number;
}

/** One data row: where it is in its file, and its cells by column name. */
export interface SourceRow {
  file: string;
  /** 1-based line in the file where the row starts (the header is line 1). */
  line: number;
  /** Every column's cell, trimmed; '' for an empty cell. */
  cells: Record<string, string>;
  /** Set when the row cannot be read as the header says (a wrong number of fields). */
  problem?: string;
}

/** A streaming csv-parse over a file: BOM dropped, cells trimmed, empty lines skipped. */
function openCsv(file: string): Parser {
  const parser = parse({
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    info: true,
  });
  // pipe() does not pass on the file's errors (a missing file): the parser's reader gets them.
  return createReadStream(file)
    .on('error', (error) => parser.destroy(error))
    .pipe(parser);
}

/**
 * Reads a file through once: checks its header names only known columns, each once (so a
 * typo fails before anything is sent), and counts its data rows for the progress total.
 */
export async function inspectCsv(file: string, known: readonly string[]): Promise<CheckedCsv> {
  let columns: string[] | undefined;
  let rows = 0;
  try {
    for await (const { record } of openCsv(file) as AsyncIterable<{ record: string[] }>) {
      if (columns === undefined) columns = checkedHeader(file, record, known);
      else rows++;
    }
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(message.startsWith(file) ? message : `${file}: ${message}`);
  }
  if (columns === undefined) throw new Error(`${file}: empty file (a header row is required)`);
  return { file, columns, rows };
}

function checkedHeader(file: string, header: string[], known: readonly string[]): string[] {
  for (const [i, column] of header.entries()) {
    if (!known.includes(column)) {
      throw new Error(
        `${file}: unknown column ${JSON.stringify(column)} in the header row (known columns: ${known.join(', ')})`,
      );
    }
    if (header.indexOf(column) !== i) throw new Error(`${file}: column ${column} appears twice`);
  }
  return header;
}

/** The data rows of a checked file, in order, with their line numbers. */
export async function* rowsOf(csv: CheckedCsv): AsyncGenerator<SourceRow> {
  let header = true;
  const records = openCsv(csv.file) as AsyncIterable<{ record: string[]; info: { lines: number } }>;
  for await (const { record, info } of records) {
    if (header) {
      header = false;
      continue;
    }
    const cells = Object.fromEntries(csv.columns.map((column, i) => [column, record[i] ?? '']));
    const row: SourceRow = { file: csv.file, line: startLine(record, info.lines), cells };
    if (record.length !== csv.columns.length) {
      row.problem = `expected ${csv.columns.length} fields as in the header, got ${record.length}`;
    }
    yield row;
  }
}

/** csv-parse tells the line a record ends on; a quoted cell may span lines. */
function startLine(record: string[], endLine: number): number {
  return endLine - record.reduce((breaks, cell) => breaks + cell.split('\n').length - 1, 0);
}

/** A row's cell, or undefined when it is empty or the file has no such column. */
export function cell(row: SourceRow, column: string): string | undefined {
  const value = row.cells[column];
  return value === undefined || value === '' ? undefined : value;
}

/** Consecutive groups of up to `size` items. */
export async function* chunksOf<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  for await (const item of items) {
    chunk.push(item);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** A non-negative integer written in decimal digits, or undefined. */
export function wholeNumber(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}
