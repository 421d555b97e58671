import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/**
 * The browser the browser tests drive: Debian's Chromium (`apt-get install -y chromium`,
 * which .ci/run does when it is missing), or another Chromium or Chrome at CHROMIUM_PATH.
 * playwright-core downloads no browser of its own. A missing browser fails the tests, with
 * this message, rather than skipping them.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `The browser tests need Chromium, and there is none at ${CHROMIUM_PATH}. Install ` +
        "Debian's (apt-get install -y chromium, as root), or set CHROMIUM_PATH to a Chromium " +
        'or Chrome executable.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true });
}
