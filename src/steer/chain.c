/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The steering decision: a chain of filters over a small candidate set.
 *
 * The set is a 64-bit mask, plus an explicit order once a filter imposes
 * one (nearest first, lowest RTT, weighted).  Narrowing filters (health,
 * geo, priority, shed) are a few ANDs against masks precomputed with the
 * service; only ordering filters walk the members.  Nothing is cleared per
 * query: only the entries in use are written (gdnsd spends most of its
 * dynamic-answer cost clearing an 8 KB buffer).  No clock, no malloc, no
 * locks: `now` and `rand` are inputs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "steer/fixmath.h"
#include "steer/steer.h"

#define Q16 65536u

struct cand {
	uint64_t mask;                  /* the members */
	bool ordered;                   /* a filter fixed their order in ord[] */
	uint8_t n;                      /* entries in ord[] when listed */
	uint8_t ord[STEER_MAX_ENDPOINTS];
};

/* Per-query working state. */
struct ctx {
	const struct steer_service *svc;
	const struct steer_client *client;
	const struct steer_admin *admin;
	uint64_t now, rand;
	struct steer_trace *tr;
	char *why;                      /* current step's reason; NULL: not tracing */
	uint64_t bad;                   /* down or drained */
	uint64_t down, drained, ramping;
	uint64_t special;               /* weight override or ramp: see admin */
	uint64_t zero;                  /* effective weight 0 */
	uint64_t off;                   /* standby: never at weight 0: never answers */
	uint64_t held;                  /* ramping, and this client not admitted */
	uint64_t lost;                  /* removed as down or drained, narrowed like
					 * the set: the pool a canary's share is of */
	uint16_t family;                /* client address for geo and sticky */
	const uint8_t *addr;
	uint8_t src_prefix;             /* ECS source prefix, or 32/128 */
	bool ecs_used;
	uint8_t scope;                  /* longest client prefix the decision used */
	bool shed_done;
	uint8_t outcome;
	bool fallback;
	bool open;                      /* all-down open answered */
	bool all_drained;
	uint32_t scale[STEER_MAX_ENDPOINTS]; /* shed share in Q16, set for members */
};

/* Reasons are formatted only when tracing; the test is inline so the
 * untraced path pays no varargs call. */
#define why(c, ...) do { if ((c)->why) why_fmt((c), __VA_ARGS__); } while (0)

static void why_fmt(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why_fmt(struct ctx *c, const char *fmt, ...)
{
	size_t used = strlen(c->why);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why + used, sizeof(c->tr->step[0].why) - used, fmt, ap);
	va_end(ap);
}

/* The decision depends on `prefix` bits of the client address.  The scope
 * is the longest such prefix over all client-dependent filters: any change
 * within it could change the answer. */
static void scope_use(struct ctx *c, uint8_t prefix, const char *what)
{
	if (prefix > c->scope)
		c->scope = prefix;
	if (c->tr) {
		size_t used = strlen(c->tr->scope_why);
		snprintf(c->tr->scope_why + used, sizeof(c->tr->scope_why) - used,
			 "%s%s /%u", used ? ", " : "", what, prefix);
	}
}

/* --- the candidate set ----------------------------------------------------- */

/* Make ord[] list exactly the members: in the imposed order (dropping any
 * that a later narrowing filter removed), else in configuration order. */
static void cand_list(struct cand *s)
{
	uint8_t n = 0;
	if (s->ordered) {
		for (unsigned k = 0; k < s->n; k++)
			if (s->mask & (1ull << s->ord[k]))
				s->ord[n++] = s->ord[k];
	} else {
		for (uint64_t m = s->mask; m; m &= m - 1)
			s->ord[n++] = (uint8_t)__builtin_ctzll(m);
	}
	s->n = n;
}

/* Replace the members by ord[0..n), which now carries an order. */
static void cand_set_order(struct cand *s, unsigned n)
{
	uint64_t m = 0;
	for (unsigned k = 0; k < n; k++)
		m |= 1ull << s->ord[k];
	s->mask = m;
	s->n = (uint8_t)n;
	s->ordered = true;
}

/* Same as steer_client_addr(), inlined for the query path. */
static inline uint8_t client_addr(const struct steer_service *svc,
				  const struct steer_client *client,
				  uint16_t *family, const uint8_t **addr)
{
	if (svc->ecs && client->ecs.present) {
		*family = client->ecs.family;
		*addr = client->ecs.addr;
		return client->ecs.source;
	}
	*family = client->family;
	*addr = client->addr;
	return client->family == 2 ? 128 : 32;
}

/* --- per-endpoint state ---------------------------------------------------- */

static inline const struct steer_admin_ep *admin_ep(const struct ctx *c, unsigned i)
{
	return c->admin && i < c->admin->n ? &c->admin->ep[i] : NULL;
}

/* Weight with the operator override applied.  A running ramp does not
 * scale it: the ramp admits a share of the clients instead (ramp_gate). */
static inline uint32_t eff_weight(const struct ctx *c, unsigned i)
{
	uint32_t w = c->svc->hot[i].weight;
	if (!(c->special & (1ull << i)))
		return w;
	const struct steer_admin_ep *a = admin_ep(c, i);
	if (a->weight_set)
		w = a->weight < STEER_WEIGHT_MAX ? a->weight : STEER_WEIGHT_MAX;
	return w;
}

static void scan_admin(struct ctx *c)
{
	const struct steer_admin *admin = c->admin;
	c->drained = c->special = c->ramping = 0;
	c->zero = c->svc->zero_mask;
	if (!admin)
		return;
	if (admin->prepared) {
		c->drained = admin->drained_mask & c->svc->all_mask;
		c->special = admin->special_mask & c->svc->all_mask;
	} else {
		for (unsigned i = 0; i < c->svc->n_ep && i < admin->n; i++) {
			const struct steer_admin_ep *a = &admin->ep[i];
			c->drained |= (uint64_t)a->drained << i;
			c->special |= (uint64_t)(a->weight_set || a->ramp.active) << i;
		}
	}
	/* Overrides and ramps are rare: look only at the endpoints that
	 * have one. */
	for (uint64_t m = c->special; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctzll(m);
		const struct steer_admin_ep *a = admin_ep(c, i);
		if (a && steer_ramp_running(&a->ramp, c->now))
			c->ramping |= 1ull << i;
		if (a && a->weight_set) {
			if (a->weight)
				c->zero &= ~(1ull << i);
			else
				c->zero |= 1ull << i;
		}
	}
}

/* Masks of down, drained and ramping endpoints, for the health filter and
 * for ttl-degraded (which looks at every endpoint, not just candidates). */
static void scan_state(struct ctx *c, const struct steer_health *health)
{
	const struct steer_service *svc = c->svc;
	uint64_t down = 0;
	if (health) {
		const struct steer_health_state *st = health->state;
		uint32_t hn = health->n;
		for (unsigned i = 0; i < svc->n_ep; i++) {
			uint32_t hi = svc->hot[i].health;
			if (hi < hn && !st[hi].up)
				down |= 1ull << i;
		}
	}
	c->down = down;
	scan_admin(c);
	c->bad = c->down | c->drained;
	c->off = c->zero & svc->never_mask;
}

/* --- filters --------------------------------------------------------------- */

/*
 * Nothing eligible is left: the service's all-down mode.  Always stops the
 * chain; with `open` the set is then the answer as it stands.
 */
static bool all_down(struct ctx *c, struct cand *s)
{
	c->fallback = true;
	switch (c->svc->all_down) {
	case STEER_DOWN_EMPTY:
		why(c, "all down: all-down empty, answer NODATA");
		c->outcome = STEER_NODATA;
		s->mask = 0;
		return false;
	case STEER_DOWN_SERVFAIL:
		why(c, "all down: all-down servfail");
		c->outcome = STEER_SERVFAIL;
		s->mask = 0;
		return false;
	default:
		break;
	}
	/* Health is what failed, not the operator's word: a drain still
	 * means never, and so does `standby: never` (a canary answering for
	 * everyone is what it is there to prevent).  Every other endpoint
	 * answers, `answers:` ignored, so that the load of a false alarm is
	 * spread over all of them rather than one. */
	uint64_t m = c->svc->all_mask & ~c->drained & ~c->svc->never_mask;
	if (!m) {
		why(c, "all down and every endpoint drained: all-down open answers as empty");
		c->all_drained = true;
		c->outcome = STEER_NODATA;
		s->mask = 0;
		return false;
	}
	why(c, "all down: all-down open, every endpoint not drained, answers ignored");
	s->mask = m;
	s->ordered = false;
	c->open = true;
	return false;
}

/* Returns false when the chain must stop (all down). */
static bool filter_health(struct ctx *c, struct cand *s)
{
	const uint64_t never = c->svc->never_mask;
	uint64_t m = s->mask & ~c->bad;
	c->lost |= s->mask & c->bad;
	if (!s->mask)
		return true;
	why(c, "%u down or drained removed", __builtin_popcountll(s->mask & c->bad));
	if (!(m & ~never)) {
		/* A canary alone is not a service: it would take 100%. */
		if (m)
			why(c, "; only standby never left, which never takes over; ");
		else
			why(c, "; ");
		return all_down(c, s);
	}
	/* Weight 0 is a standby (as in Route 53): it answers only when
	 * nothing with weight above 0 is eligible. */
	uint64_t pos = m & ~c->zero & ~never;
	if (pos && (m & c->zero)) {
		why(c, "; standby: %u with weight 0 held back", __builtin_popcountll(m & c->zero));
		m &= ~c->zero;
	} else if (!pos) {
		why(c, "; standby: nothing with weight > 0 up, weight-0 standby used");
	}
	s->mask = m;
	return true;
}

/* Stable insertion sort of ord[] by key, descending when `desc`. */
static void sort_by(struct cand *s, const double *key, bool desc)
{
	for (unsigned k = 1; k < s->n; k++) {
		uint8_t v = s->ord[k];
		unsigned j = k;
		while (j > 0 && (desc ? key[s->ord[j - 1]] < key[v]
				      : key[s->ord[j - 1]] > key[v])) {
			s->ord[j] = s->ord[j - 1];
			j--;
		}
		s->ord[j] = v;
	}
}

static uint64_t code_mask(const struct steer_code_mask *tab, unsigned n, uint16_t code)
{
	if (!code)
		return 0;
	for (unsigned k = 0; k < n; k++)
		if (tab[k].code == code)
			return tab[k].mask;
	return 0;
}

/* Nearest first by great-circle distance: a larger dot product of unit
 * vectors is nearer; endpoints without coordinates sort last. */
static void geo_nearest(struct ctx *c, struct cand *s)
{
	const struct geo_info *g = &c->client->geo;
	double x = g->ux, y = g->uy, z = g->uz, dot[STEER_MAX_ENDPOINTS];
	cand_list(s);
	/* geo computes the client's vector once per network (cached). */
	if (x == 0 && y == 0 && z == 0)
		steer_unit_vector(g->lat, g->lon, &x, &y, &z);
	for (unsigned k = 0; k < s->n; k++) {
		const struct steer_ep_hot *h = &c->svc->hot[s->ord[k]];
		dot[s->ord[k]] = h->has_coords ? h->vx * x + h->vy * y + h->vz * z : -2;
	}
	sort_by(s, dot, true);
	s->ordered = true;
	why(c, ", nearest first from %.2f,%.2f", g->lat, g->lon);
}

static void filter_geo(struct ctx *c, struct cand *s)
{
	const struct steer_service *svc = c->svc;
	const struct steer_client *cl = c->client;
	if (!cl->has_geo) {
		/* Unknown network: valid only for this exact client subnet. */
		scope_use(c, c->src_prefix, "geo unknown");
		why(c, "no geo data for client, all kept");
		return;
	}
	scope_use(c, cl->geo.prefix, "geo network");
	/* A region whose only endpoints are `standby: never` is not a
	 * region to send its users to: the canary would take them all. */
	const uint64_t normal = ~svc->never_mask;
	uint64_t cm = code_mask(svc->country, svc->n_country, steer_pack_code(cl->geo.country));
	uint64_t m = s->mask & cm;
	if (m & normal) {
		why(c, "same country %s", cl->geo.country);
	} else {
		cm = code_mask(svc->continent, svc->n_continent, steer_pack_code(cl->geo.continent));
		m = s->mask & cm;
		if (m & normal) {
			why(c, "same continent %s (none in country %s)", cl->geo.continent,
			    cl->geo.country[0] ? cl->geo.country : "?");
		} else {
			m = s->mask;
			cm = ~0ull;
			why(c, "no endpoint in %s/%s, all kept", cl->geo.continent[0] ?
			    cl->geo.continent : "?", cl->geo.country[0] ? cl->geo.country : "?");
		}
	}
	s->mask = m;
	c->lost &= cm;
	if (c->svc->geo_sort && cl->geo.has_coords && (m & (m - 1)))
		geo_nearest(c, s);
}

static void filter_latency(struct ctx *c, struct cand *s)
{
	const struct steer_latency *row = c->client->latency;
	if (!row) {
		scope_use(c, c->src_prefix, "latency no row");
		why(c, "no latency row for client, all kept");
		return;
	}
	if (row->prefix == STEER_LAT_SCOPE_GEO) {
		/* A country or continent row: the decision holds for the geo
		 * network the location came from, not for everyone. */
		const struct steer_client *cl = c->client;
		scope_use(c, cl->has_geo ? cl->geo.prefix : c->src_prefix, "latency location");
	} else {
		scope_use(c, row->prefix, "latency network");
	}
	cand_list(s);
	/* The best RTT of a `standby: never` endpoint does not count: the
	 * margin would otherwise leave the canary alone. */
	uint64_t skip = (s->mask & ~c->svc->never_mask) ? c->svc->never_mask : 0;
	uint32_t best = STEER_RTT_UNKNOWN;
	for (unsigned k = 0; k < s->n; k++) {
		unsigned i = s->ord[k];
		if (i < row->n && row->rtt_ms[i] < best && !(skip & (1ull << i)))
			best = row->rtt_ms[i];
	}
	if (best == STEER_RTT_UNKNOWN) {
		why(c, "no RTT known for any candidate, all kept");
		return;
	}
	uint64_t limit = (uint64_t)best + c->svc->latency_margin_ms;
	double key[STEER_MAX_ENDPOINTS];
	uint8_t n = 0;
	for (unsigned k = 0; k < s->n; k++) {
		unsigned i = s->ord[k];
		if (i < row->n && row->rtt_ms[i] <= limit) {
			key[i] = row->rtt_ms[i];
			s->ord[n++] = (uint8_t)i;
		}
	}
	s->n = n;
	sort_by(s, key, false);
	cand_set_order(s, n);
	why(c, "best %u ms, kept within %u ms margin", best, c->svc->latency_margin_ms);
}

static void filter_priority(struct ctx *c, struct cand *s)
{
	const struct steer_service *svc = c->svc;
	/* Tiers with only `standby: never` endpoints are passed over, as
	 * long as another tier has something else. */
	uint64_t normal = (s->mask & ~svc->never_mask) ? ~svc->never_mask : ~0ull;
	for (unsigned k = 0; k < svc->n_tier; k++) {
		uint64_t m = s->mask & svc->tier[k].mask;
		if (m & normal) {
			s->mask = m;
			c->lost &= svc->tier[k].mask;
			why(c, "tier %u", svc->tier[k].tier);
			return;
		}
	}
}

/* Share in Q16 of one endpoint: full below low, linear to 0 at high. */
static uint32_t shed_share(const struct steer_service *svc, uint32_t load, uint32_t cap)
{
	if (cap == 0)
		return Q16;
	uint64_t f = ((uint64_t)load << 16) / cap;
	if (f <= svc->shed_low_q16)
		return Q16;
	if (f >= svc->shed_high_q16)
		return 0;
	return (uint32_t)(((svc->shed_high_q16 - f) << 16) /
			  (svc->shed_high_q16 - svc->shed_low_q16));
}

static void filter_shed(struct ctx *c, struct cand *s)
{
	uint64_t keep = 0;
	unsigned reduced = 0;
	for (uint64_t m = s->mask; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctzll(m);
		const struct steer_admin_ep *a = admin_ep(c, i);
		uint32_t sh = shed_share(c->svc, a ? a->load : 0, c->svc->hot[i].capacity);
		c->scale[i] = sh;
		reduced += sh > 0 && sh < Q16;
		if (sh)
			keep |= 1ull << i;
	}
	c->shed_done = true;
	if (!(keep & ~c->svc->never_mask) && s->mask) {
		/* Every endpoint is over the high watermark (but canaries,
		 * which never take over): shedding cannot help, so keep them
		 * all at equal standing. */
		for (uint64_t m = s->mask; m; m &= m - 1)
			c->scale[__builtin_ctzll(m)] = Q16;
		why(c, "all above high watermark, all kept");
		return;
	}
	why(c, "%u above high removed, %u share reduced",
	    __builtin_popcountll(s->mask & ~keep), reduced);
	s->mask = keep;
}

/* Key of the client subnet for sticky decisions. */
static uint64_t subnet_key(struct ctx *c, uint8_t *prefix)
{
	bool v6 = c->family == 2;
	uint8_t p = v6 ? c->svc->sticky_v6 : c->svc->sticky_v4;
	if (p > c->src_prefix)
		p = c->src_prefix;
	*prefix = p;
	uint64_t hi = 0, lo = 0;
	for (unsigned b = 0; b < 8; b++)
		hi = hi << 8 | c->addr[b];
	if (v6)
		for (unsigned b = 8; b < 16; b++)
			lo = lo << 8 | c->addr[b];
	else
		hi &= 0xffffffff00000000ull;
	/* Keep p bits of the 128-bit big-endian value. */
	if (p < 64) {
		hi = p ? hi & (~0ull << (64 - p)) : 0;
		lo = 0;
	} else if (p < 128) {
		lo &= ~0ull << (128 - p);
	}
	return steer_mix64(hi ^ steer_mix64(lo ^ p) ^ (uint64_t)c->family << 56);
}

/*
 * Weighted rendezvous (Efraimidis-Spirakis): score_i = -ln(u_i) / w_i with
 * u_i from hash(subnet, id); the smallest score wins, and ordering by score
 * is weighted sampling without replacement.  Changing one weight changes one
 * score only, so only the share that must move to or from it moves.
 * Compared as L_i * w_j < L_j * w_i: no division, no libm.
 */
static void order_sticky(struct ctx *c, struct cand *s, const uint32_t *w, unsigned need)
{
	uint8_t p;
	uint64_t key = subnet_key(c, &p), L[STEER_MAX_ENDPOINTS];
	for (unsigned k = 0; k < s->n; k++) {
		unsigned i = s->ord[k];
		L[i] = steer_neglog2_q24(steer_mix64(key ^ c->svc->hot[i].id_hash));
	}
	for (unsigned k = 0; k < need; k++) {
		unsigned best = k;
		for (unsigned j = k + 1; j < s->n; j++) {
			unsigned a = s->ord[j], b = s->ord[best];
			if (L[a] * w[b] < L[b] * w[a])
				best = j;
		}
		uint8_t t = s->ord[k];
		s->ord[k] = s->ord[best];
		s->ord[best] = t;
	}
	scope_use(c, p, "sticky subnet");
	why(c, "sticky subnet /%u", p);
}

/* Weighted random without replacement, one random draw per position. */
static void order_random(struct ctx *c, struct cand *s, const uint32_t *w,
			 uint64_t total, unsigned need)
{
	uint64_t state = c->rand;
	for (unsigned k = 0; k < need; k++) {
		uint64_t r = (uint64_t)(((unsigned __int128)steer_next_rand(&state) *
					 total) >> 64);
		unsigned j = k;
		for (; j + 1 < s->n; j++) {
			uint32_t wj = w[s->ord[j]];
			if (r < wj)
				break;
			r -= wj;
		}
		/* Swap, not shift: the order of the unchosen tail is
		 * irrelevant, it is either drawn from again or cut. */
		uint8_t t = s->ord[j];
		total -= w[t];
		s->ord[j] = s->ord[k];
		s->ord[k] = t;
	}
	why(c, "weighted random");
}

/*
 * `standby: never` with a weight above 0 (a canary): its share is its
 * configured share of the pool it belongs to, counting the endpoints that
 * are down or drained (`lost`), so it never absorbs their traffic.  For
 * canary j with weight w_j, the pool's configured total W and the other
 * candidates' sum R (in the same units as w[]): w'_j = R * w_j / (W - N),
 * N the canaries' own configured weights, gives w'_j / total = w_j / W.
 */
static void cap_canaries(struct ctx *c, struct cand *s, uint32_t *w, uint64_t nv,
			 uint64_t rsum)
{
	uint64_t full = 0, nsum = 0;
	for (uint64_t m = s->mask | c->lost; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctzll(m);
		uint32_t x = eff_weight(c, i);
		full += x;
		if (nv & (1ull << i))
			nsum += x;
	}
	if (full <= nsum)
		return;                 /* nothing but canaries: nothing to hold to */
	for (uint64_t m = nv; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctzll(m);
		uint64_t y = rsum * eff_weight(c, i) / (full - nsum);
		/* Bounded so that sticky products stay within 64 bits. */
		w[i] = y < ((uint64_t)STEER_WEIGHT_MAX << 7) ? (uint32_t)y : STEER_WEIGHT_MAX << 7;
		why(c, "standby never: %s held to %u/%llu of the pool; ", c->svc->ep[i].id,
		    eff_weight(c, i), (unsigned long long)full);
	}
}

/* Returns false when nothing may answer (all down). */
static bool filter_weighted(struct ctx *c, struct cand *s, bool last)
{
	const uint64_t never = c->svc->never_mask;
	uint32_t w[STEER_MAX_ENDPOINTS];
	uint64_t total = 0, rsum = 0, nv = 0, standby = 0;
	uint8_t n = 0;
	cand_list(s);
	for (unsigned k = 0; k < s->n; k++) {
		unsigned i = s->ord[k];
		uint32_t x = eff_weight(c, i);
		/* Weights carry 7 more bits than configured: shares stay
		 * exact for weight 1 under shed and for capped canaries.  At
		 * most 2^31, so sticky products fit. */
		if (c->shed_done && x) {
			uint64_t y = (uint64_t)x * c->scale[i] >> 9;
			x = y ? (uint32_t)y : 1;
		} else {
			x <<= 7;
		}
		w[i] = x;
		if (!x && !(never & (1ull << i)))
			standby |= 1ull << i;
		else if (x && (never & (1ull << i)))
			nv |= 1ull << i;
		else
			rsum += x;
	}
	if (!rsum && standby) {
		/* Nothing with weight > 0 besides canaries: the weight-0
		 * standbys answer, at equal weights. */
		for (uint64_t m = standby; m; m &= m - 1) {
			w[__builtin_ctzll(m)] = 1u << 7;
			rsum += 1u << 7;
		}
		why(c, "standby: nothing with weight > 0, %u weight-0 standby used; ",
		    __builtin_popcountll(standby));
	}
	if (!rsum && s->n) {
		why(c, "only standby never left, which never takes over; ");
		return all_down(c, s);
	}
	if (nv)
		cap_canaries(c, s, w, nv, rsum);
	for (unsigned k = 0; k < s->n; k++) {
		unsigned i = s->ord[k];
		total += w[i];
		if (w[i])
			s->ord[n++] = (uint8_t)i;
	}
	if (n < s->n)
		why(c, "%u with weight 0 removed; ", s->n - n);
	s->n = n;
	/* Weighted last: first N follows, so only N positions need an order. */
	unsigned need = n;
	if (last && c->svc->answers && c->svc->answers < need)
		need = c->svc->answers;
	if (c->svc->sticky == STEER_STICKY_SUBNET)
		order_sticky(c, s, w, need);
	else
		order_random(c, s, w, total, need);
	cand_set_order(s, last ? need : n);
	return true;
}

/*
 * Ramp admission.  A ramping endpoint at p% stays a candidate for the
 * client subnets whose hash with the endpoint falls below p%, and is
 * removed for the others, who get their next choice from the rest of the
 * chain.  Admitted subnets see it fully in, so it gets p% of the clients
 * that would choose it; scaling its weight instead does nothing when geo
 * leaves it alone in its region, where the herd is.  The hash is fixed per
 * subnet and endpoint, so a subnet admitted at 10% stays admitted at 25%:
 * a step moves only the clients it has to move.
 */
static void ramp_gate(struct ctx *c, struct cand *s)
{
	uint8_t p;
	uint64_t key = subnet_key(c, &p), held = 0;
	for (uint64_t m = c->ramping & s->mask; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctzll(m);
		unsigned pct = steer_ramp_percent(&admin_ep(c, i)->ramp, c->now);
		/* A hash apart from the sticky one: admission must not
		 * depend on which endpoint the subnet prefers. */
		uint64_t h = steer_mix64(key ^ steer_mix64(c->svc->hot[i].id_hash ^
							   0x72616d70ull /* "ramp" */));
		unsigned v = (unsigned)(((unsigned __int128)h * 100) >> 64);
		bool in = v < pct;
		if (!in)
			held |= 1ull << i;
		why(c, "%s%s %u%%: %s", (c->why && c->why[0]) ? "; " : "", c->svc->ep[i].id,
		    pct, in ? "admitted" : "held back, next choice");
	}
	scope_use(c, p, "ramp subnet");
	uint64_t rest = s->mask & ~held & ~c->bad & ~c->zero & ~c->svc->never_mask;
	if (held && !rest && (s->mask & held & ~c->bad)) {
		/* Better a ramping endpoint than a standby or no answer. */
		why(c, "; nothing else up, admitted");
		held = 0;
	}
	c->held = held;
	s->mask &= ~held;
}

/* --- the chain ------------------------------------------------------------- */

static bool run_filter(struct ctx *c, struct cand *s, unsigned f, bool last)
{
	switch (f) {
	case STEER_F_HEALTH:
		return filter_health(c, s);
	case STEER_F_GEO:
		filter_geo(c, s);
		break;
	case STEER_F_LATENCY:
		filter_latency(c, s);
		break;
	case STEER_F_WEIGHTED:
		return filter_weighted(c, s, last);
	case STEER_F_PRIORITY:
		filter_priority(c, s);
		break;
	case STEER_F_SHED:
		filter_shed(c, s);
		break;
	}
	return true;
}

static void trace_begin(struct ctx *c, const struct steer_health *health)
{
	struct steer_trace *tr = c->tr;
	tr->now_ms = c->now;
	tr->n_steps = 0;
	tr->n_ep = (uint8_t)c->svc->n_ep;
	tr->family = c->family;
	memcpy(tr->addr, c->addr, 16);
	tr->ecs_used = c->ecs_used;
	tr->has_geo = c->client->has_geo;
	tr->geo = c->client->geo;
	tr->scope_why[0] = '\0';
	for (unsigned i = 0; i < c->svc->n_ep; i++) {
		struct steer_trace_ep *e = &tr->ep[i];
		uint32_t hi = c->svc->hot[i].health;
		const struct steer_admin_ep *a = admin_ep(c, i);
		e->up = !(c->down & (1ull << i));
		e->since_ms = health && hi < health->n ? health->state[hi].since_ms : 0;
		e->drained = c->drained & (1ull << i);
		e->ramping = c->ramping & (1ull << i);
		e->held = false;
		e->ramp_percent = 100;
		e->weight = eff_weight(c, i);
		if (e->ramping) {
			e->ramp_percent = (uint8_t)steer_ramp_percent(&a->ramp, c->now);
			e->weight = steer_ramp_weight(a->ramp.steps, a->ramp.nsteps,
						      a->ramp.every_ms, a->ramp.started_ms,
						      c->now, e->weight);
		}
		e->load = a ? a->load : 0;
	}
}

/* Record the set as a list without disturbing it. */
static uint8_t trace_set(const struct cand *s, uint8_t *out)
{
	struct cand copy = *s;
	cand_list(&copy);
	memcpy(out, copy.ord, copy.n);
	return copy.n;
}

static void trace_step(struct ctx *c, unsigned f, const struct cand *in)
{
	struct steer_trace_step *st = &c->tr->step[c->tr->n_steps];
	st->filter = (uint8_t)f;
	st->n_in = trace_set(in, st->in);
	st->why[0] = '\0';
	c->why = st->why;
}

static void trace_step_end(struct ctx *c, const struct cand *out)
{
	struct steer_trace_step *st = &c->tr->step[c->tr->n_steps++];
	st->n_out = trace_set(out, st->out);
	c->why = NULL;
}

/* First N, applied last. */
static void first_n(struct ctx *c, struct cand *s)
{
	if (c->tr)
		trace_step(c, STEER_F_FIRST_N, s);
	cand_list(s);
	if (c->svc->answers && s->n > c->svc->answers)
		cand_set_order(s, c->svc->answers);
	why(c, "answers %u", c->svc->answers);
	if (c->tr)
		trace_step_end(c, s);
}

static void finish(struct ctx *c, const struct cand *s, struct steer_result *res)
{
	const struct steer_service *svc = c->svc;
	res->outcome = c->outcome;
	res->fallback = c->fallback;
	res->open = c->open;
	res->all_drained = c->all_drained;
	res->degraded = (c->bad | c->ramping) != 0;
	res->ttl = svc->ttl;
	if (res->degraded && svc->ttl_degraded && svc->ttl_degraded < svc->ttl)
		res->ttl = svc->ttl_degraded;
	/* RFC 7871 7.2.1: never claim more than the client sent; without ECS
	 * (or with `ecs: off`) the answer is the same for every subnet. */
	uint8_t scope = c->scope < c->src_prefix ? c->scope : c->src_prefix;
	res->scope = c->ecs_used ? scope : 0;
	res->n = 0;
	if (res->outcome == STEER_ANSWER) {
		for (unsigned k = 0; k < s->n; k++)  /* usually 1: no memcpy call */
			res->ep[k] = s->ord[k];
		res->n = s->n;
		if (s->n == 0)
			res->outcome = STEER_NODATA;
	}
	if (c->tr)
		c->tr->result = *res;
}

void steer_decide(const struct steer_service *svc, const struct steer_client *client,
		  const struct steer_health *health, const struct steer_admin *admin,
		  uint64_t now_ms, uint64_t rand, struct steer_result *res,
		  struct steer_trace *trace)
{
	struct ctx c;
	c.svc = svc;
	c.client = client;
	c.admin = admin;
	c.now = now_ms;
	c.rand = rand;
	c.tr = trace;
	c.why = NULL;
	c.scope = 0;
	c.shed_done = false;
	c.outcome = STEER_ANSWER;
	c.fallback = false;
	c.open = c.all_drained = false;
	c.held = c.lost = 0;
	c.src_prefix = client_addr(svc, client, &c.family, &c.addr);
	c.ecs_used = svc->ecs && client->ecs.present;
	scan_state(&c, health);
	if (trace)
		trace_begin(&c, health);

	struct cand s;
	s.mask = svc->all_mask & ~c.off;
	s.ordered = false;
	s.n = 0;
	bool go = true;
	if (c.ramping & s.mask) {
		if (trace)
			trace_step(&c, STEER_F_RAMP, &s);
		ramp_gate(&c, &s);
		if (trace) {
			trace_step_end(&c, &s);
			for (uint64_t m = c.held; m; m &= m - 1)
				trace->ep[__builtin_ctzll(m)].held = true;
		}
	}
	for (unsigned k = 0; k < svc->n_policy && go; k++) {
		unsigned f = svc->policy[k];
		if (trace)
			trace_step(&c, f, &s);
		go = run_filter(&c, &s, f, k + 1 == svc->n_policy);
		if (trace)
			trace_step_end(&c, &s);
	}
	if (go)
		first_n(&c, &s);
	else if (c.open)
		cand_list(&s);          /* every endpoint not drained, `answers` ignored */
	else
		s.n = 0;
	finish(&c, &s, res);
}
