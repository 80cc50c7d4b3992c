// SPDX-License-Identifier: GPL-3.0-or-later
// Browser test of vaned's dashboard: headless Debian chromium driven by
// playwright-core.  Run by tests/integration/test_dashboard.py, which starts
// vaned (services, HTTP API) and real HTTP health servers and passes:
//   VANE_URL        page URL (e.g. http://127.0.0.1:PORT/)
//   VANE_TOKEN      the API bearer token
//   VANE_CONTROL    URL of the wrapper's control hook: GET $VANE_CONTROL/kill?ep=SVC/EP
//                   stops that endpoint's health server
//   VANE_DNS_PORT   vaned's DNS port on 127.0.0.1
//   VANE_SERVICE    the steered name under test (weighted, one address per answer)
//   VANE_ENDPOINTS  "id=address,..." of its endpoints, in config order
//   VANE_OTHER      another steered name (background traffic only; optional)
// Steps: the page renders every endpoint up; the third endpoint's health
// server is killed and its row turns red (and DNS stops answering it); a
// wrong token is refused (401, nothing changes); the second endpoint is
// drained through the UI (confirm + token prompt) and DNS answers change;
// a weight is set; a screenshot goes to out/dashboard.png; undrain restores
// DNS answers.  Exit 0 and a final "RESULT ok" line on success.

import { chromium } from 'playwright-core';
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const OUT = join(HERE, 'out');
const env = (k, d) => {
	const v = process.env[k] ?? d;
	if (v === undefined) throw new Error(`missing env ${k}`);
	return v;
};
const URL_ = env('VANE_URL');
const TOKEN = env('VANE_TOKEN');
const CONTROL = env('VANE_CONTROL');
const DNS_PORT = parseInt(env('VANE_DNS_PORT'), 10);
const SERVICE = env('VANE_SERVICE');
const OTHER = process.env.VANE_OTHER || null;
const EPS = env('VANE_ENDPOINTS').split(',').map((s) => { const [id, addr] = s.split('='); return { id, addr }; });
if (EPS.length < 3) throw new Error('need three endpoints');
const [EP_A, EP_B, EP_C] = EPS;

const log = (...a) => console.log(new Date().toISOString().slice(11, 23), ...a);

// ---------------------------------------------------------------- DNS (raw UDP)

function dnsQuery(id, name) {
	const labels = name.replace(/\.$/, '').split('.');
	const q = Buffer.alloc(12 + labels.reduce((n, l) => n + l.length + 1, 0) + 1 + 4);
	q.writeUInt16BE(id, 0);
	q.writeUInt16BE(0x0000, 2);      // QUERY, RD clear (authoritative server)
	q.writeUInt16BE(1, 4);           // QDCOUNT
	let off = 12;
	for (const l of labels) { q[off++] = l.length; off += q.write(l, off, 'ascii'); }
	q[off++] = 0;
	q.writeUInt16BE(1, off);         // A
	q.writeUInt16BE(1, off + 2);     // IN
	return q;
}

function skipName(buf, off) {
	for (;;) {
		const len = buf[off];
		if (len === undefined) throw new Error('truncated name');
		if ((len & 0xc0) === 0xc0) return off + 2;
		off += 1 + len;
		if (len === 0) return off;
	}
}

// A addresses of the answer section (RFC 1035 section 4.1).
function dnsAnswers(buf) {
	const an = buf.readUInt16BE(6), qd = buf.readUInt16BE(4);
	let off = 12;
	for (let i = 0; i < qd; i++) off = skipName(buf, off) + 4;
	const out = [];
	for (let i = 0; i < an; i++) {
		off = skipName(buf, off);
		const type = buf.readUInt16BE(off), rdlen = buf.readUInt16BE(off + 8);
		off += 10;
		if (type === 1 && rdlen === 4) out.push([...buf.subarray(off, off + 4)].join('.'));
		off += rdlen;
	}
	return { rcode: buf[3] & 0x0f, addrs: out };
}

class Dns {
	constructor(port) {
		this.port = port;
		this.sock = dgram.createSocket('udp4');
		this.pending = new Map();
		this.nextId = 1;
		this.sock.on('message', (msg) => {
			const p = this.pending.get(msg.readUInt16BE(0));
			if (p) { this.pending.delete(msg.readUInt16BE(0)); p(msg); }
		});
	}
	ask(name, timeout = 2000) {
		const id = this.nextId = (this.nextId % 65535) + 1;
		return new Promise((resolve, reject) => {
			const t = setTimeout(() => { this.pending.delete(id); reject(new Error(`DNS timeout for ${name}`)); }, timeout);
			this.pending.set(id, (msg) => { clearTimeout(t); resolve(dnsAnswers(msg)); });
			this.sock.send(dnsQuery(id, name), this.port, '127.0.0.1');
		});
	}
	// Addresses seen over n queries (weighted: one address per answer).
	async sample(name, n) {
		const seen = new Set();
		for (let i = 0; i < n; i++) {
			const r = await this.ask(name);
			if (r.rcode !== 0) throw new Error(`${name}: rcode ${r.rcode}`);
			r.addrs.forEach((a) => seen.add(a));
		}
		return seen;
	}
	close() { this.sock.close(); }
}

// ---------------------------------------------------------------- helpers

async function waitFor(what, fn, timeoutMs = 20000, stepMs = 100) {
	const deadline = Date.now() + timeoutMs;
	let last;
	while (Date.now() < deadline) {
		last = await fn();
		if (last) return last;
		await new Promise((r) => setTimeout(r, stepMs));
	}
	throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

const setStr = (s) => JSON.stringify([...s].sort());
function assertSetEq(got, want, what) {
	if (setStr(got) !== setStr(want)) throw new Error(`${what}: got ${setStr(got)}, want ${setStr(want)}`);
	log(`ok: ${what}: ${setStr(got)}`);
}

// ---------------------------------------------------------------- the test

async function main() {
	mkdirSync(OUT, { recursive: true });
	const userData = mkdtempSync(join(tmpdir(), 'vane-chromium-'));
	const dns = new Dns(DNS_PORT);
	const ctx = await chromium.launchPersistentContext(userData, {
		executablePath: '/usr/bin/chromium',
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		viewport: { width: 1440, height: 900 },
	});
	// Background DNS traffic, so the answer shares on the page move.
	let traffic = true;
	const background = (async () => {
		while (traffic) {
			await Promise.all([dns.ask(SERVICE).catch(() => null), OTHER ? dns.ask(OTHER).catch(() => null) : null]);
			await new Promise((r) => setTimeout(r, 15));
		}
	})();
	const page = ctx.pages()[0] || await ctx.newPage();
	const problems = [];
	page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
	// The refused-token step logs its expected 401; any other console error fails.
	page.on('console', (m) => {
		if (m.type() === 'error' && !/status of 401\b/.test(m.text())) problems.push(`console error: ${m.text()}`);
	});
	// External requests would break "no external network": fail on any.
	const origin = new URL(URL_).origin;
	page.on('request', (r) => {
		if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) problems.push(`external request: ${r.url()}`);
	});
	// Dialogs: answers are queued by the steps below; anything unexpected fails.
	const answers = [];
	const dialogs = [];
	page.on('dialog', async (d) => {
		dialogs.push(`${d.type()}: ${d.message().split('\n')[0]}`);
		const a = answers.shift();
		if (!a || a.type !== d.type()) {
			problems.push(`unexpected ${d.type()} dialog: ${d.message()}`);
			await d.dismiss();
			return;
		}
		log(`dialog ${d.type()}: ${d.message().split('\n')[0]} -> ${a.type === 'prompt' ? (a.value === TOKEN ? '<token>' : JSON.stringify(a.value)) : 'accept'}`);
		await (a.type === 'prompt' ? d.accept(a.value) : d.accept());
	});

	try {
		const row = (ep) => page.locator(`[data-testid="endpoint-row"][data-service="${SERVICE}"][data-endpoint="${ep.id}"]`);
		const health = (ep) => row(ep).getAttribute('data-health', { timeout: 2000 }).catch(() => null);
		const waitHealth = (ep, want, ms = 20000) =>
			waitFor(`${ep.id} shown ${want}`, async () => (await health(ep)) === want, ms);

		await page.goto(URL_ + (URL_.includes('?') ? '&' : '?') + 'interval=500');
		await page.getByTestId('conn').filter({ hasText: 'live' }).waitFor({ timeout: 15000 });
		for (const ep of EPS) await waitHealth(ep, 'up');
		log('ok: every endpoint rendered up');
		const all = new Set(EPS.map((e) => e.addr));
		assertSetEq(await dns.sample(SERVICE, 80), all, 'DNS answers with all up');

		// 1. Kill C's health server: the row goes red, DNS stops answering C.
		const k = await fetch(`${CONTROL}/kill?ep=${encodeURIComponent(SERVICE + '/' + EP_C.id)}`);
		if (!k.ok) throw new Error(`control kill: HTTP ${k.status}`);
		const t0 = Date.now();
		await waitHealth(EP_C, 'down', 30000);
		log(`ok: ${EP_C.id} shown down ${Date.now() - t0} ms after its health server died`);
		// The row may be re-rendered (or its colour still in transition) just
		// as it turns down: read the dot until it is red, or fail with it.
		const dotColour = () => row(EP_C).locator('[data-testid="health"] .dot')
			.evaluate((el) => getComputedStyle(el).backgroundColor).catch(() => '');
		const isRed = (c) => {
			const m = (c || '').match(/\d+/g);
			if (!m || m.length < 3) return false;
			const [r, g, b] = m.map(Number);
			return r > 150 && g < 100 && b < 100;
		};
		let colour = '';
		try {
			await waitFor('a red down dot', async () => isRed(colour = await dotColour()), 5000);
		} catch (e) {
			throw new Error(`down dot is not red: ${colour}`);
		}
		log(`ok: down dot colour ${colour}`);
		await waitFor(`a health-down event for ${EP_C.id}`, () => page.locator(
			`[data-testid="event"]:has-text("${SERVICE}/${EP_C.id}")`).filter({ hasText: 'down' }).count(), 10000);
		const withoutC = new Set([EP_A.addr, EP_B.addr]);
		assertSetEq(await dns.sample(SERVICE, 60), withoutC, 'DNS answers with C down');

		// 2. A wrong token is refused and changes nothing.
		answers.push({ type: 'confirm' }, { type: 'prompt', value: 'not-the-token' });
		await row(EP_B).getByTestId('drain').click();
		await page.locator('[data-testid="toast"][data-ok="false"]').filter({ hasText: 'token rejected' }).waitFor({ timeout: 10000 });
		log('ok: wrong token refused');
		if ((await health(EP_B)) !== 'up') throw new Error('B changed after a refused drain');
		assertSetEq(await dns.sample(SERVICE, 60), withoutC, 'DNS answers after refused drain');

		// 3. Drain B through the UI: confirm, then the token prompt.
		answers.push({ type: 'confirm' }, { type: 'prompt', value: TOKEN });
		await row(EP_B).getByTestId('drain').click();
		await page.locator('[data-testid="toast"][data-ok="true"]').filter({ hasText: 'drain' }).waitFor({ timeout: 10000 });
		await waitHealth(EP_B, 'drained', 10000);
		log(`ok: ${EP_B.id} shown drained`);
		assertSetEq(await dns.sample(SERVICE, 60), new Set([EP_A.addr]), 'DNS answers after draining B');
		await waitFor(`a drain event for ${EP_B.id}`, () => page.locator(
			`[data-testid="event"][data-kind="drain"]:has-text("${SERVICE}/${EP_B.id}")`).count(), 10000);

		// 4. Weight of A through the UI (token now in sessionStorage: no prompt for it).
		answers.push({ type: 'prompt', value: '40' }, { type: 'confirm' });
		await row(EP_A).getByTestId('weight-btn').click();
		await waitFor('A weight 40 shown', async () => /^40\b/.test((await row(EP_A).getByTestId('weight').textContent()) || ''), 10000);
		log('ok: weight of A set to 40 through the UI');

		// 5. Shares follow the counters: all of the service's answers are A's now.
		await waitFor('share of A at 100%', async () => (await row(EP_A).getByTestId('share').textContent()) === '100.0%', 30000, 250);
		await waitFor('share of B at 0%', async () => (await row(EP_B).getByTestId('share').textContent()) === '0.0%', 5000, 250);
		const paths = await page.locator(`[data-testid="service"][data-service="${SERVICE}"] [data-testid="share-chart"] path`).count();
		if (paths < 1) throw new Error('share chart has no series');
		log(`ok: shares A 100%, B 0%; chart has ${paths} series`);

		await page.screenshot({ path: join(OUT, 'dashboard.png'), fullPage: true });
		log(`screenshot: ${join(OUT, 'dashboard.png')}`);

		// 6. Undrain B: confirm only (token kept for the tab); B is answered again.
		answers.push({ type: 'confirm' });
		await row(EP_B).getByTestId('undrain').click();
		await waitHealth(EP_B, 'up', 10000);
		assertSetEq(await dns.sample(SERVICE, 80), withoutC, 'DNS answers after undraining B');

		if (answers.length) throw new Error(`dialogs not shown: ${JSON.stringify(answers)}`);
		if (problems.length) throw new Error(problems.join('\n'));
		log('dialogs:', dialogs.join(' | '));
		console.log('RESULT ok');
	} catch (e) {
		await page.screenshot({ path: join(OUT, 'failure.png'), fullPage: true }).catch(() => {});
		if (problems.length) console.log(problems.join('\n'));
		throw e;
	} finally {
		traffic = false;
		await background;
		dns.close();
		await ctx.close();
		rmSync(userData, { recursive: true, force: true });
	}
}

main().catch((e) => {
	console.log('RESULT fail:', e && e.stack || e);
	process.exit(1);
});
