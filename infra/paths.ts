import { fileURLToPath } from 'node:url';

/** The repository root: the project root for bundling and the home of cdk.json. */
export const projectRoot = fileURLToPath(new URL('..', import.meta.url));
