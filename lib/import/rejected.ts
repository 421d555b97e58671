/** The rejected-rows CSV an import writes the rows it could not import to, with the reason. */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import type { SourceRow } from './csvRows.ts';

/**
 * The rejected-rows CSV: `file,line,code,detail,row`, row being the original cells as a
 * JSON object. Any older file at the path is removed at the start, and a new one is
 * created on the first rejection, so the file present after a run is that run's.
 */
export class RejectedFile {
  count = 0;
  private fd: number | undefined;

  constructor(private readonly path: string) {
    rmSync(path, { force: true });
  }

  add(row: SourceRow, code: string, detail: string): void {
    if (this.fd === undefined) {
      this.fd = openSync(this.path, 'w');
      writeSync(this.fd, stringify([['file', 'line', 'code', 'detail', 'row']]));
    }
    const record = [row.file, String(row.line), code, detail, JSON.stringify(row.cells)];
    writeSync(this.fd, stringify([record]));
    this.count++;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
