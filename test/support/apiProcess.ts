/**
 * A second local API, in a process of its own (configuration is per process), over the
 * test run's DynamoDB Local and a table of its own: for tests that compare two tables.
 * Prints `listening <url>` once up; stops on SIGTERM.
 */
import { startLocalApi } from '../../lib/local/runtime.ts';

const api = await startLocalApi({
  port: 0,
  dynamoEndpoint: process.env.TEST_DYNAMO_ENDPOINT as string,
  tableName: process.env.TEST_TABLE as string,
  adminKey: process.env.TEST_ADMIN_KEY as string,
});
console.log(`listening ${api.url}`);
process.once('SIGTERM', () => {
  void api.stop().then(() => process.exit(0));
});
