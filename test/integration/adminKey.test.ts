import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api.ts';

const run = promisify(execFile);
let t: TestApi;

beforeAll(async () => {
  t = await startTestApi();
});
afterAll(() => t.api.stop());

describe('npm run admin-key (the first key of a deployment)', () => {
  it('creates a working admin key in the named table and prints it once', async () => {
    const tableName = process.env.LOYALTY_TABLE as string;
    const { stdout } = await run('npx', ['tsx', 'infra/adminKey.ts', '--table', tableName], {
      env: { ...process.env, DYNAMODB_ENDPOINT: t.api.dynamoEndpoint, AWS_REGION: 'us-east-1' },
    });
    const key = stdout.trim().split('\n').at(-1) as string;
    expect(key).toMatch(/^lk_[\w-]{43}$/);
    expect((await t.call('GET', '/v1/stores', { key })).status).toBe(200);
    expect((await t.call('GET', '/v1/stores', { key: `${key}x` })).status).toBe(401);
  });

  it('says how to call it, and fails with one line when the table is unreachable', async () => {
    const usage = await run('npx', ['tsx', 'infra/adminKey.ts']).catch((e) => e);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: npm run admin-key');
    const missing = await run(
      'npx',
      ['tsx', 'infra/adminKey.ts', '--table', `no-${randomUUID()}`],
      {
        env: { ...process.env, DYNAMODB_ENDPOINT: t.api.dynamoEndpoint },
      },
    ).catch((e) => e);
    expect(missing.code).toBe(1);
    const lines = (missing.stderr as string).split('\n').filter((l) => !l.startsWith('npm warn'));
    expect(lines.filter((l) => l.trim() !== '')).toEqual([
      expect.stringMatching(/^admin-key: ResourceNotFoundException/),
    ]);
  });
});
