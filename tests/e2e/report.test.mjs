// End-to-end test of the evaluation report (issue 13) in a real browser: makes a tiny dataset and a tiny run
// (a few training steps of each stage), writes `genie eval --out DIR`, opens DIR/report.html from disk in headless
// Chromium (Debian's `chromium`, driven by playwright-core) and checks that its tables, plots and animations render,
// and that the page asks the network for nothing.
//
// Run: node tests/e2e/report.test.mjs   (after `npm ci` in tests/e2e). Prints PASS/FAIL lines and ends with
// "e2e: N passed, N failed". Without Chromium it skips with a message, except under CI=true, where that fails.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { check, finish, requireChromium, results, root } from './harness.mjs';

const launch = await requireChromium();

function genie(...args) {
  const r = spawnSync(join(root, 'genie'), args, { cwd: root, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`genie ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return r;
}

let work, context, profile;
try {
  work = mkdtempSync(join(tmpdir(), 'genie-e2e-report-'));
  const data = join(work, 'data'), tok = join(work, 'tok'), run = join(work, 'dyn'), report = join(work, 'report');
  genie('data', 'make', '--episodes', '3', '--size', '16x16', '--max-steps', '40', '--val-fraction', '0.34', '--out', data);
  genie('train', 'tokenizer', '--data', data, '--config', 'tiny', '--out', tok, '--threads', '1', '--set', 'train_tokenizer.steps=4');
  genie('train', 'dynamics', '--data', data, '--tokenizer', tok, '--out', run, '--threads', '1', '--set', 'train_dynamics.steps=4');
  genie('eval', '--run', run, '--data', data, '--clips', '3', '--control-prompts', '2', '--control-frames', '3', '--threads', '1', '--out', report);

  ({ context, profile } = await launch());
  const page = context.pages()[0] ?? await context.newPage();
  await page.setViewportSize({ width: 1100, height: 900 });
  const pageErrors = [];
  const requests = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  page.on('request', (r) => requests.push(r.url()));

  await check('the report opens from disk with its metric tables', async () => {
    await page.goto(pathToFileURL(join(report, 'report.html')).href, { waitUntil: 'load' });
    const tables = await page.$$eval('table.metrics', (ts) => ts.map((t) => ({ rows: t.rows.length, height: t.getBoundingClientRect().height })));
    if (tables.length < 4) throw new Error(`${tables.length} metric tables`);
    if (tables.some((t) => t.rows < 2 || t.height <= 0)) throw new Error(`a table is empty or not laid out: ${JSON.stringify(tables)}`);
    const cells = await page.$$eval('table.metrics td:nth-child(1)', (tds) => tds.map((td) => td.textContent));
    for (const name of ['tokenizer_psnr', 'tokenizer_ssim', 'delta_psnr_t4', 'fvd', 'fvd_features', 'action_nmi', 'generation_frames_per_second'])
      if (!cells.includes(name)) throw new Error(`no row for ${name}`);
    const counts = await page.$$eval('table.counts tr', (rows) => rows.length);
    if (counts !== 1 + 4) throw new Error(`the count table has ${counts} rows, not a header and 4 latent actions`);
  });

  await check('every plot is a decoded image', async () => {
    const plots = await page.$$eval('img.plot', (imgs) => imgs.map((i) => ({ ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth, alt: i.alt })));
    for (const id of ['delta-psnr', 'actions', 'control', 'training'])
      if (await page.$(`section#${id} img.plot`) === null) throw new Error(`no plot in section #${id}`);
    if (plots.length < 5) throw new Error(`${plots.length} plots`);
    const bad = plots.filter((p) => !p.ok || p.w < 300);
    if (bad.length) throw new Error(`plots not rendered: ${JSON.stringify(bad)}`);
  });

  await check('the rollouts are animated images that play', async () => {
    const gifs = await page.$$eval('img.rollout', (imgs) => imgs.map((i) => ({ ok: i.complete && i.naturalWidth > 0, gif: i.src.startsWith('data:image/gif;base64,') })));
    if (gifs.length !== 9) throw new Error(`${gifs.length} rollout images, not 3 clips × (real, inferred, random)`);
    if (gifs.some((g) => !g.ok || !g.gif)) throw new Error(`rollouts not rendered as GIFs: ${JSON.stringify(gifs)}`);
    const clips = await page.$$('section#rollouts div.clip');
    await clips[0].scrollIntoViewIfNeeded();
    const seen = new Set();
    for (let i = 0; i < 8; i++) {
      seen.add((await clips[0].screenshot()).toString('base64'));
      await page.waitForTimeout(150);
    }
    if (seen.size < 2) throw new Error('the first clip\'s images did not change over 1.2 s');
  });

  await check('nothing was fetched from the network', async () => {
    const remote = requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'));
    if (remote.length) throw new Error(`requests: ${remote.join(', ')}`);
  });

  await check('no errors in the page', async () => {
    if (pageErrors.length) throw new Error(pageErrors.join('; '));
  });
} catch (e) {
  results.push({ name: 'setup', ok: false });
  console.log(`FAIL setup: ${e.message}`);
} finally {
  try { await context?.close(); } catch { /* ignore */ }
  if (profile) rmSync(profile, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
}
finish(0);
