import { fileSink } from './files.ts';
import { s3Sink } from './s3.ts';
import type { ExportSink } from './sink.ts';

export { documentName, type ExportSink } from './sink.ts';

/**
 * The sink of this deployment, from its environment: the stack's bucket in AWS
 * (LOYALTY_EXPORT_BUCKET), the local runtime's directory (LOYALTY_EXPORT_DIR); neither is a
 * deployment fault.
 */
export function exportSink(): ExportSink {
  const bucket = process.env.LOYALTY_EXPORT_BUCKET;
  if (bucket) return s3Sink(bucket);
  const dir = process.env.LOYALTY_EXPORT_DIR;
  if (dir) return fileSink(dir);
  throw new Error('LOYALTY_EXPORT_BUCKET or LOYALTY_EXPORT_DIR must be set');
}
