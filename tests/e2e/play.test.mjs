// End-to-end test of the play page in a real browser: starts `./genie play` with a tiny randomly initialised model
// on a free port, opens the page in headless Chromium (Debian's `chromium`, driven by playwright-core), starts a
// session from a sample frame, presses actions by button and by key, and checks that a new frame appears each time
// (the frame counter increments and the image changes); then the same for the real platformer world.
//
// Run: node tests/e2e/play.test.mjs   (after `npm ci` in tests/e2e). Prints PASS/FAIL lines and ends with
// "e2e: N passed, N failed". Without Chromium it skips with a message, except under CI=true, where that fails.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { check, finish, requireChromium, results, root } from './harness.mjs';

const launch = await requireChromium();

// ------------------------------------------------------------------ the server

function startServer() {
  return new Promise((resolveUrl, reject) => {
    const proc = spawn(join(root, 'genie'), ['play', '--random-init', 'tiny', '--port', '0', '--max-sessions', '3'], {
      cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    let out = '', err = '';
    const timer = setTimeout(() => reject(new Error(`the server did not print its URL within 300 s\nstdout: ${out}\nstderr: ${err}`)), 300_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/open (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolveUrl({ proc, url: m[1] }); }
    });
    proc.stderr.on('data', (d) => { err += d; });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`genie play exited with ${code}\nstdout: ${out}\nstderr: ${err}`)); });
  });
}

function stopServer(proc) {
  if (!proc || proc.exitCode !== null) return;
  try { process.kill(-proc.pid, 'SIGTERM'); } catch { /* already gone */ }
}

// ------------------------------------------------------------------ the test

async function frameState(page) {
  return page.evaluate(() => ({
    counter: document.getElementById('frame-counter').textContent,
    src: document.getElementById('frame').getAttribute('src') ?? '',
    status: document.getElementById('status').textContent,
  }));
}

async function waitForCounter(page, value, timeout = 60_000) {
  await page.waitForFunction((v) => document.getElementById('frame-counter').textContent === v, value, { timeout });
}

let server, context, profile;
try {
  server = await startServer();
  console.log(`server: ${server.url}`);
  ({ context, profile } = await launch());
  const page = context.pages()[0] ?? await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });

  await check('page loads with sample prompts and model info', async () => {
    await page.goto(server.url, { waitUntil: 'load' });
    await page.waitForSelector('button.sample[data-sample="0"]:not([disabled])', { timeout: 30_000 });
    const info = await page.textContent('#model-info');
    if (!/latent actions/.test(info)) throw new Error(`model info reads '${info}'`);
  });

  let first;
  await check('a sample frame starts a session showing frame 0', async () => {
    await page.click('button.sample[data-sample="0"]');
    await waitForCounter(page, '0');
    await page.waitForSelector('button.action[data-action="1"]');
    first = await frameState(page);
    if (!first.src.startsWith('data:image/png;base64,')) throw new Error(`frame src is '${first.src.slice(0, 40)}'`);
  });

  await check('pressing an action button shows a new frame', async () => {
    await page.click('button.action[data-action="1"]');
    await waitForCounter(page, '1');
    const now = await frameState(page);
    if (now.src === first.src) throw new Error('the image did not change');
    const history = await page.$$eval('#history li', (li) => li.map((x) => x.textContent));
    if (history.length !== 1) throw new Error(`action history has ${history.length} entries`);
  });

  await check('pressing a key steps too, and step back returns', async () => {
    const before = await frameState(page);
    await page.keyboard.press('2');
    await waitForCounter(page, '2');
    const after = await frameState(page);
    if (after.src === before.src) throw new Error('the image did not change');
    await page.click('#back');
    await waitForCounter(page, '1');
    await page.click('#reset');
    await waitForCounter(page, '0');
  });

  await check('the real platformer world plays on the same page', async () => {
    await page.click('#tab-world');
    await page.fill('#level', '7');
    await page.click('#world-go');
    await page.waitForFunction(() => /real world/.test(document.getElementById('mode-label').textContent), null, { timeout: 30_000 });
    await waitForCounter(page, '0');
    const before = await frameState(page);
    for (let i = 0; i < 3; i++) await page.click('button.action[data-action="2"]');
    await waitForCounter(page, '3');
    const after = await frameState(page);
    if (after.src === before.src) throw new Error('the image did not change after moving right');
  });

  await check('no errors in the page', async () => {
    if (pageErrors.length) throw new Error(pageErrors.join('; '));
  });
} catch (e) {
  results.push({ name: 'setup', ok: false });
  console.log(`FAIL setup: ${e.message}`);
} finally {
  try { await context?.close(); } catch { /* ignore */ }
  stopServer(server?.proc);
  if (profile) rmSync(profile, { recursive: true, force: true });
}
finish(0);
