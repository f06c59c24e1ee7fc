/**
 * Headless Chromium for the end-to-end tests: Debian's /usr/bin/chromium driven by playwright-core (no browser
 * download), started with the flags this machine needs (no sandbox as root, no background networking).
 * `hostAlias` maps a made-up host name to loopback, so a page can be loaded as if from another machine while
 * every byte stays on 127.0.0.1.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);
/** A host name the browser resolves to 127.0.0.1: not loopback by name, so not a "potentially trustworthy" origin. */
export const REMOTE_HOST_ALIAS = 'pneumoscope.test';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--host-resolver-rules=MAP ${REMOTE_HOST_ALIAS} 127.0.0.1`,
    ],
  });
}
