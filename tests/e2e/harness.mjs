// What the browser tests share: the repository root, the CI switch, PASS/FAIL bookkeeping with the closing
// "e2e: N passed, N failed" line that run-tests counts, and headless Chromium (Debian's `chromium`, driven by
// playwright-core). Without Chromium or playwright-core a test skips with a message, except under CI=true, where
// that fails.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ci = /^(1|true|yes)$/i.test(process.env.CI ?? '');
export const results = [];

export function finish(code) {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed + (code !== 0 && results.every((r) => r.ok) ? 1 : 0);
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : code);
}

function skip(reason) {
  console.log(`e2e: SKIPPED: ${reason}`);
  console.log('e2e: 0 passed, 0 failed');
  process.exit(0);
}

function missing(msg) {
  if (ci) { console.log(`FAIL prerequisites: ${msg}; CI must run this test`); finish(1); }
  skip(msg);
}

/** Runs one named check, recording PASS or FAIL (with the error's message) and its time. */
export async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`PASS ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e.message}`);
  }
}

/**
 * Checks for Chromium and playwright-core (skipping, or failing under CI, when one is missing); call it before
 * starting anything. Returns launch(), which opens headless Chromium with a fresh profile folder: { context, profile }.
 */
export async function requireChromium() {
  const chromiumPath = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
  if (!chromiumPath) missing('Chromium is not installed (apt-get install chromium, or set CHROMIUM=/path/to/chromium)');
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    missing('playwright-core is not installed (run `npm ci` in tests/e2e)');
  }
  return async function launch() {
    const profile = mkdtempSync(join(tmpdir(), 'genie-e2e-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    return { context, profile };
  };
}
