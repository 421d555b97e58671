/**
 * Where customers' export documents are kept (the README's "Your customers' data"): in AWS
 * the stack's exports bucket (s3.ts, LOYALTY_EXPORT_BUCKET), locally files in the data
 * directory served by the local server behind signed links (files.ts, LOYALTY_EXPORT_DIR).
 * Both take the document as a stream of chunks, so no document is ever whole in memory.
 * Which one a deployment uses: sinks.ts.
 */
export interface ExportSink {
  /**
   * Stores the document under `name` as its chunks come, and answers its size in bytes.
   * If the chunks fail (or run out of time), nothing is kept and the error is thrown on.
   */
  write(name: string, chunks: AsyncIterable<string>): Promise<number>;
  /** A link that reads the document until `expiresAt` (at most a day after `now`). */
  link(name: string, expiresAt: Date, now: Date): Promise<string>;
  /** Removes the document; one that is not there is no error. */
  remove(name: string): Promise<void>;
}

/** A document's name: its export's id, so a name can never point elsewhere. */
export const documentName = (exportId: string) => `${exportId}.json`;

/** The longest a link may live, whatever asks. */
export const MAX_LINK_SECONDS = 24 * 3600;

/** Counts the bytes of the chunks passing through (the document's size, once written). */
export function counted(chunks: AsyncIterable<string>): {
  chunks: AsyncIterable<Buffer>;
  bytes: () => number;
} {
  let bytes = 0;
  return {
    chunks: (async function* () {
      for await (const chunk of chunks) {
        const buffer = Buffer.from(chunk, 'utf8');
        bytes += buffer.length;
        yield buffer;
      }
    })(),
    bytes: () => bytes,
  };
}
