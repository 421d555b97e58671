/**
 * The exports' bucket (AWS): a document is streamed into a multipart upload (lib-storage,
 * parts of 8 MiB, two in flight, so the function holds at most about 16 MiB of it), and read
 * through a presigned GET. The bucket is encrypted, private and expires objects after 7 days
 * (infra/stack.ts); the functions may only do what their route says (routes.ts exportBucket).
 */
import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { counted, type ExportSink, MAX_LINK_SECONDS } from './sink.ts';

let client: S3Client | undefined;
const s3 = () => {
  client ??= new S3Client({});
  return client;
};

const PART_BYTES = 8 * 1024 * 1024;

export function s3Sink(bucket: string): ExportSink {
  return {
    async write(name, chunks) {
      const body = counted(chunks);
      const upload = new Upload({
        client: s3(),
        params: {
          Bucket: bucket,
          Key: name,
          Body: Readable.from(body.chunks),
          ContentType: 'application/json; charset=utf-8',
        },
        partSize: PART_BYTES,
        queueSize: 2,
        // A failed upload leaves no parts behind (the lifecycle rule would clean them too).
        leavePartsOnError: false,
      });
      await upload.done();
      return body.bytes();
    },
    async link(name, expiresAt, now) {
      const seconds = Math.floor((expiresAt.getTime() - now.getTime()) / 1000);
      return getSignedUrl(
        s3(),
        new GetObjectCommand({
          Bucket: bucket,
          Key: name,
          ResponseContentDisposition: `attachment; filename="${name}"`,
        }),
        { expiresIn: Math.max(1, Math.min(seconds, MAX_LINK_SECONDS)), signingDate: now },
      );
    },
    async remove(name) {
      await s3().send(new DeleteObjectCommand({ Bucket: bucket, Key: name }));
    },
  };
}
