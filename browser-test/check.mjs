// The rendered book in a real browser: `cargo course browser-check` (and the
// last step of `cargo course verify`) writes a plan (which pages, which search
// term, which screenshots) and runs `node check.mjs plan.json`.
//
// It serves the built book (book/html) on 127.0.0.1 with an ephemeral port,
// drives Debian's headless Chromium through playwright-core (never a
// downloaded browser) and prints one line per check: `ok   ...` or
// `FAIL ...`. It exits 1 when a check failed, 2 when it could not run.
//
// The pages need no network: the one request mdBook makes to the outside
// (the Rust Playground's crate list, which decides whether play buttons are
// shown) is answered here with a fixed list; any other outside request is
// answered with an empty response and reported as a note.

import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { chromium } from 'playwright-core';

const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const failures = [];

function ok(line) {
  console.log(`ok   ${line}`);
}
function fail(line) {
  failures.push(line);
  console.log(`FAIL ${line}`);
}
function note(line) {
  console.log(`note ${line}`);
}

// --- a static file server for book/html ------------------------------------

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

function serve(root) {
  const base = resolve(root);
  const server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
    if (path.endsWith('/')) path += 'index.html';
    const file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
      const body = readFileSync(file);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': body.length,
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    }
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolvePromise(server));
  });
}

// --- the browser -------------------------------------------------------------

// Crates the play button may use: the playground's real list is longer, but
// only blocks with `extern crate x;` are ever checked against it.
const PLAYGROUND_CRATES = ['tokio', 'rayon', 'bytes', 'futures', 'serde', 'serde_json', 'rand', 'regex'];

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type',
};

async function main() {
  const server = await serve(plan.book_dir);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const profile = mkdtempSync(join(tmpdir(), 'course-chromium-'));
  mkdirSync(plan.screenshot_dir, { recursive: true });
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: plan.chromium,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 900 },
      timeout: 60_000,
    });
    await run(context, origin);
  } finally {
    if (context) await context.close().catch(() => {});
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function run(context, origin) {
  const outside = new Set();
  await context.route('**/*', async (route) => {
    const request = route.request();
    const url = new URL(request.url());
    if (url.origin === origin) {
      await route.continue();
    } else if (url.hostname === 'play.rust-lang.org') {
      const body = url.pathname === '/meta/crates'
        ? JSON.stringify({ crates: PLAYGROUND_CRATES.map((id) => ({ id, name: id, version: '1' })) })
        : '{}';
      await route.fulfill({ status: 200, headers: { ...CORS, 'Content-Type': 'application/json' }, body });
    } else {
      outside.add(url.href);
      await route.fulfill({ status: 204, headers: CORS, body: '' });
    }
  });

  const page = await context.newPage();
  let errors = [];
  page.on('pageerror', (e) => errors.push(`JavaScript error: ${e.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console error: ${msg.text()}`);
  });

  // 1. Every written page loads with its title and without a JavaScript error.
  const found = { play: null, playCount: 0, exercise: new Map() };
  for (const entry of plan.pages) {
    errors = [];
    const what = `page ${entry.path} "${entry.title}"`;
    let response;
    try {
      response = await page.goto(`${origin}/${entry.path}`, { waitUntil: 'load', timeout: 20_000 });
    } catch (e) {
      fail(`${what}: did not load: ${e.message.split('\n')[0]}`);
      continue;
    }
    // mdBook shows play buttons once the playground's crate list arrived.
    await page
      .waitForFunction(
        () => {
          const blocks = document.querySelectorAll('pre.playground');
          return blocks.length === 0 || [...blocks].some((b) => b.querySelector('.play-button'));
        },
        null,
        { timeout: 5_000 },
      )
      .catch(() => {});
    await page.waitForTimeout(150);
    const info = await page.evaluate(() => ({
      title: document.title,
      text: (document.querySelector('main')?.innerText ?? '').trim().length,
      play: [...document.querySelectorAll('pre.playground .play-button')].filter(
        (b) => !b.hidden && !b.classList.contains('hidden'),
      ).length,
      exercise: (() => {
        const h = document.getElementById('exercise');
        return h ? h.tagName : null;
      })(),
    }));
    const problems = [];
    if (!response || response.status() !== 200) problems.push(`HTTP ${response ? response.status() : 'no response'}`);
    const expected = `${entry.title} - ${plan.book_title}`;
    if (info.title !== expected) problems.push(`title is "${info.title}", expected "${expected}"`);
    if (info.text === 0) problems.push('the page has no text');
    problems.push(...errors);
    if (problems.length === 0) ok(`${what} loads, title right, no JavaScript error`);
    else fail(`${what}: ${problems.join('; ')}`);
    if (info.play > 0 && !found.play) {
      found.play = entry.path;
      found.playCount = info.play;
    }
    if (entry.chapter) found.exercise.set(entry.path, info.exercise);
  }

  // 2. A runnable code block shows its play button (mdBook reveals a code
  //    block's buttons when the pointer is over it).
  if (found.play) {
    try {
      await page.goto(`${origin}/${found.play}`, { waitUntil: 'load' });
      const block = page.locator('pre.playground:has(.play-button:not([hidden]):not(.hidden))').first();
      await block.waitFor({ state: 'attached', timeout: 5_000 });
      await block.hover();
      await block.locator('.play-button').waitFor({ state: 'visible', timeout: 3_000 });
      ok(`a runnable rust block shows its play button (${found.play}, ${found.playCount} runnable block(s) there)`);
    } catch (e) {
      fail(`the play button of a runnable block on ${found.play} does not show on hover: ${e.message.split('\n')[0]}`);
    }
  } else {
    fail('no page has a runnable ```rust block with a play button (book.toml: [output.html.playground] runnable = true)');
  }

  // 3. Every written chapter has its exercise section.
  for (const entry of plan.pages.filter((p) => p.chapter)) {
    const tag = found.exercise.get(entry.path);
    if (tag && /^H[1-6]$/.test(tag)) ok(`chapter ${entry.chapter} has its exercise section (${tag.toLowerCase()}#exercise)`);
    else if (found.exercise.has(entry.path))
      fail(`chapter ${entry.chapter} (${entry.path}) has no heading with id "exercise" (write "## Exercise")`);
  }

  // 4. Search finds the chapter.
  if (plan.search) {
    const { term, expect, start } = plan.search;
    errors = [];
    try {
      await page.goto(`${origin}/${start}`, { waitUntil: 'load' });
      await page.click('#mdbook-search-toggle');
      const box = page.locator('#mdbook-searchbar');
      await box.waitFor({ state: 'visible', timeout: 5_000 });
      await box.pressSequentially(term, { delay: 20 });
      const hit = page.locator(`#mdbook-searchresults a[href*="${expect}"]`).first();
      await hit.waitFor({ state: 'visible', timeout: 10_000 });
      const count = await page.locator('#mdbook-searchresults li').count();
      await page.screenshot({ path: join(plan.screenshot_dir, 'search.png') });
      if (errors.length) fail(`search "${term}": ${errors.join('; ')}`);
      else ok(`search for "${term}" finds ${expect} (${count} result(s))`);
    } catch (e) {
      const shown = await page
        .locator('#mdbook-searchresults a')
        .evaluateAll((as) => as.map((a) => a.getAttribute('href')))
        .catch(() => []);
      fail(`search for "${term}" does not find ${expect} (results: ${shown.join(', ') || 'none'}): ${e.message.split('\n')[0]}`);
    }
  }

  // 5. Each page links to its translation, and the translation back.
  for (const lang of plan.languages ?? []) {
    const start = plan.search ? plan.search.expect : plan.pages[0]?.path;
    if (!start) break;
    errors = [];
    try {
      await page.goto(`${origin}/${start}`, { waitUntil: 'load' });
      await page.click('.right-buttons .language-link');
      await page.waitForURL(`${origin}/${lang}/${start}`, { timeout: 5_000 });
      const there = await page.evaluate(() => document.documentElement.lang);
      if (there !== lang) throw new Error(`the page's lang is "${there}", expected "${lang}"`);
      await page.screenshot({ path: join(plan.screenshot_dir, `${lang}-${start.replace(/\.html$/, '')}.png`) });
      await page.click('.right-buttons .language-link');
      await page.waitForURL(`${origin}/${start}`, { timeout: 5_000 });
      const back = await page.evaluate(() => document.documentElement.lang);
      if (back !== 'en') throw new Error(`back on the English page, lang is "${back}"`);
      if (errors.length) fail(`language link ${lang}: ${errors.join('; ')}`);
      else ok(`${start} links to /${lang}/${start} (lang="${lang}") and back`);
    } catch (e) {
      fail(`the language link of ${start} to ${lang} and back: ${e.message.split('\n')[0]}`);
    }
  }

  // 6. Screenshots, to look at.
  for (const shot of plan.screenshots) {
    const file = join(plan.screenshot_dir, `${shot.name}.png`);
    try {
      await page.goto(`${origin}/${shot.path}`, { waitUntil: 'load' });
      await page.waitForTimeout(200);
      // Point at the first runnable block in view, so that its buttons show.
      const runnable = page.locator('pre.playground:has(.play-button:not([hidden]))').first();
      const box = (await runnable.count()) ? await runnable.boundingBox() : null;
      if (box && box.y + box.height < 900) await runnable.hover().catch(() => {});
      await page.screenshot({ path: file });
      ok(`screenshot of ${shot.path}: ${file}`);
    } catch (e) {
      fail(`screenshot of ${shot.path}: ${e.message.split('\n')[0]}`);
    }
  }

  for (const url of outside) note(`a page asked for ${url} (answered with nothing: the book needs no network)`);
}

const watchdog = setTimeout(() => {
  console.log(`FAIL the browser check took longer than ${plan.timeout_secs} s`);
  process.exit(2);
}, plan.timeout_secs * 1000);

main()
  .then(() => {
    clearTimeout(watchdog);
    process.exit(failures.length ? 1 : 0);
  })
  .catch((e) => {
    clearTimeout(watchdog);
    console.log(`FAIL the browser check could not run: ${String(e.message ?? e).split('\n')[0]}`);
    process.exit(2);
  });
