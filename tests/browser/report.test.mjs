// SPDX-License-Identifier: GPL-3.0-or-later
// Browser test of vane-lab's HTML report: headless Debian chromium driven by
// playwright-core.  Run by tests/integration/test_lab_report_browser.py,
// which runs `vane-lab run` into a directory that vaned serves
// (http.lab-reports), and passes:
//   VANE_REPORT_FILE   the report's HTML file on disk
//   VANE_REPORT_NAME   its name (the file without .html)
//   VANE_REPORT_RTO95  the RTO to 95% from the run's JSON summary, seconds
//   VANE_URL           the dashboard's URL
// Steps: the file opens; every SVG plot is laid out with a size and has
// series with points spread over the plot; the summary table has numbers
// and its RTO 95% is the JSON's.  Then the dashboard lists the report first
// under "Lab reports"; its link opens the same report (same plots, same
// numbers) from vaned.  Screenshots: out/report.png, out/report-dashboard.png.
// Exit 0 and a final "RESULT ok" line on success.

import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = join(HERE, 'out');
const env = (k) => {
	const v = process.env[k];
	if (v === undefined) throw new Error(`missing env ${k}`);
	return v;
};
const FILE = env('VANE_REPORT_FILE');
const NAME = env('VANE_REPORT_NAME');
const RTO95 = parseFloat(env('VANE_REPORT_RTO95'));
const URL_ = env('VANE_URL');

const log = (...a) => console.log(new Date().toISOString().slice(11, 23), ...a);

async function waitFor(what, fn, ms, step = 100) {
	const end = Date.now() + ms;
	let last;
	for (;;) {
		try {
			if (await fn()) return;
		} catch (e) {
			last = e;
		}
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
		await new Promise((r) => setTimeout(r, step));
	}
}

// What the page shows, as laid out by the browser: each plot's size and
// its series' points, and the summary table's cells.
async function readReport(page) {
	return page.evaluate(() => {
		const plots = [...document.querySelectorAll('svg.plot')].map((svg) => {
			const box = svg.getBoundingClientRect();
			const series = [...svg.querySelectorAll('polyline, path')].map((el) => {
				const bb = el.getBBox();
				const pts = el.points ? [...el.points].map((p) => [p.x, p.y]) : [];
				return { name: el.dataset.name || '', n: pts.length, w: bb.width, h: bb.height,
					xs: new Set(pts.map((p) => p[0])).size, pts: pts.map((p) => p.join(',')).join(' ') };
			});
			return { title: svg.querySelector('title')?.textContent || '', w: box.width, h: box.height, series };
		});
		const head = [...document.querySelectorAll('#summary th')].map((c) => c.textContent.trim());
		const cells = [...document.querySelectorAll('#summary td')].map((c) => c.textContent.trim());
		return { title: document.title, plots, head, cells };
	});
}

function checkReport(r, where) {
	if (r.plots.length < 4) throw new Error(`${where}: ${r.plots.length} plots, want 4 (share, failures, auth rate, tail)`);
	for (const p of r.plots) {
		if (!(p.w > 100 && p.h > 100)) throw new Error(`${where}: plot "${p.title}" is ${p.w}x${p.h}`);
		const lines = p.series.filter((s) => s.n >= 2);
		if (lines.length === 0) throw new Error(`${where}: plot "${p.title}" has no series with points`);
		// Data, not a dot: a series spans many x positions across the plot.
		if (!lines.some((s) => s.xs >= 10 && s.w > p.w / 4))
			throw new Error(`${where}: plot "${p.title}" series too short: ${JSON.stringify(lines.map((s) => [s.n, s.w]))}`);
	}
	// Some series moves: the evacuation shifts the share from one endpoint to the other.
	const share = r.plots[0];
	if (!share.series.some((s) => s.h > share.h / 4)) throw new Error(`${where}: the share plot is flat`);
	const col = (h) => r.cells[r.head.indexOf(h)];
	if (r.cells.length !== r.head.length || r.head.length < 8) throw new Error(`${where}: summary ${JSON.stringify(r)}`);
	if (col('scenario') !== NAME) throw new Error(`${where}: summary scenario ${col('scenario')}`);
	for (const h of ['TTL', 'RTO 95%', 'RTO 99%', 'auth q/s', 'cost/month']) {
		const v = parseFloat(col(h));
		if (!isFinite(v)) throw new Error(`${where}: summary ${h} is "${col(h)}", not a number`);
	}
	if (Math.abs(parseFloat(col('RTO 95%')) - RTO95) > 0.5)
		throw new Error(`${where}: RTO 95% "${col('RTO 95%')}" but the JSON says ${RTO95}`);
	log(`ok: ${where}: ${r.plots.length} plots (${r.plots.map((p) => `${p.title}: ${p.series.length} series, ${Math.max(...p.series.map((s) => s.n))} points`).join('; ')}); summary ${r.cells.join(' | ')}`);
}

function watch(page, problems, label) {
	page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
	// A CSP refusal of the report's styles would show here.  Failed loads
	// are judged by their URL below: the browser's own /favicon.ico may 404.
	page.on('console', (m) => {
		if (m.type() === 'error' && !/^Failed to load resource/.test(m.text()))
			problems.push(`${label}: console error: ${m.text()}`);
	});
	page.on('response', (r) => {
		if (r.status() >= 400 && !r.url().endsWith('/favicon.ico'))
			problems.push(`${label}: HTTP ${r.status()} for ${r.url()}`);
	});
}

async function main() {
	mkdirSync(OUT, { recursive: true });
	const userData = mkdtempSync(join(tmpdir(), 'vane-chromium-'));
	const ctx = await chromium.launchPersistentContext(userData, {
		executablePath: '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		viewport: { width: 1280, height: 900 },
	});
	const page = ctx.pages()[0] || await ctx.newPage();
	const problems = [];
	watch(page, problems, 'page');
	let current = page;
	try {
		// 1. The report as vane-lab wrote it, from disk.
		await page.goto(pathToFileURL(FILE).href, { waitUntil: 'load' });
		const fromFile = await readReport(page);
		checkReport(fromFile, 'file');
		await page.screenshot({ path: join(OUT, 'report.png'), fullPage: true });
		log(`screenshot: ${join(OUT, 'report.png')}`);

		// 2. The dashboard lists it first under "Lab reports".
		await page.goto(URL_, { waitUntil: 'load' });
		const first = page.locator('[data-testid="lab-reports"] li').first();
		await waitFor('the Lab reports panel', async () =>
			await page.locator('#lab-box').isVisible() && await first.getAttribute('data-report') === NAME, 20000);
		const link = first.locator('a');
		const text = await link.textContent();
		const meta = await first.locator('.lab-meta').textContent();
		if (text !== NAME || !/model/.test(meta) || !meta.includes(`RTO95 ${RTO95} s`))
			throw new Error(`panel row: "${text}" / "${meta}"`);
		log(`ok: dashboard lists ${text} (${meta})`);
		await page.screenshot({ path: join(OUT, 'report-dashboard.png'), fullPage: true });

		// 3. Its link opens the same report, served by vaned.
		const [popup] = await Promise.all([ctx.waitForEvent('page'), link.click()]);
		current = popup;
		watch(popup, problems, 'popup');
		await popup.waitForLoadState('load');
		const want = new URL(`lab-reports/${NAME}.html`, URL_).href;
		if (popup.url() !== want) throw new Error(`link opened ${popup.url()}, want ${want}`);
		const served = await readReport(popup);
		checkReport(served, 'served');
		if (JSON.stringify(served) !== JSON.stringify(fromFile))
			throw new Error('the served report differs from the file');
		log('ok: the link opens the same report');

		if (problems.length) throw new Error(problems.join('\n'));
		console.log('RESULT ok');
	} catch (e) {
		await current.screenshot({ path: join(OUT, 'report-failure.png'), fullPage: true }).catch(() => {});
		if (problems.length) console.log(problems.join('\n'));
		throw e;
	} finally {
		await ctx.close();
		rmSync(userData, { recursive: true, force: true });
	}
}

main().catch((e) => {
	console.log('RESULT fail:', e && e.stack || e);
	process.exit(1);
});
