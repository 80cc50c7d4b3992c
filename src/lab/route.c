/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "lab/route.h"

static int site_of(const struct lab_route *rt, unsigned ep)
{
	for (unsigned i = 0; i < rt->n_site; i++)
		if (rt->site[i].ep == ep)
			return (int)i;
	return -1;
}

/* Rank of a site for a client: its own country, then its continent, then
 * the others; list order breaks ties.  A stand-in for BGP's shortest path. */
static unsigned rank(const struct lab_scenario *sc, unsigned country, unsigned ep)
{
	const struct lab_country *c = &sc->country[country];
	const struct steer_endpoint *e = &sc->ep[ep];
	if (e->country[0] && strcmp(e->country, c->code) == 0)
		return 0;
	if (e->continent[0] && strcmp(e->continent, c->continent) == 0)
		return 1;
	return 2;
}

void lab_route_init(struct lab_route *rt, const struct lab_scenario *sc)
{
	memset(rt, 0, sizeof(*rt));
	rt->convergence_ms = sc->anycast.convergence_ms;
	rt->n_site = sc->anycast.n_site;
	for (unsigned i = 0; i < rt->n_site; i++) {
		rt->site[i].ep = sc->anycast.site[i];
		rt->site[i].on = rt->site[i].prev = true;
	}
	for (unsigned c = 0; c < sc->n_country; c++) {
		unsigned k = 0;
		for (unsigned r = 0; r < 3; r++)
			for (unsigned i = 0; i < rt->n_site; i++)
				if (rank(sc, c, rt->site[i].ep) == r)
					rt->pref[c][k++] = (uint8_t)i;
	}
}

void lab_route_set(struct lab_route *rt, unsigned ep, bool on, uint64_t ms)
{
	int i = site_of(rt, ep);
	if (i < 0 || rt->site[i].on == on)
		return;
	/* What routers see until this change converges: the last state that
	 * had converged by now. */
	if (ms >= rt->site[i].changed_ms + rt->convergence_ms)
		rt->site[i].prev = rt->site[i].on;
	rt->site[i].on = on;
	rt->site[i].changed_ms = ms;
}

bool lab_route_on(const struct lab_route *rt, unsigned ep)
{
	int i = site_of(rt, ep);
	return i >= 0 && rt->site[i].on;
}

int lab_route_pick(const struct lab_route *rt, unsigned country, uint64_t ms)
{
	for (unsigned k = 0; k < rt->n_site; k++) {
		unsigned i = rt->pref[country][k];
		bool seen = ms >= rt->site[i].changed_ms + rt->convergence_ms ? rt->site[i].on
									      : rt->site[i].prev;
		if (seen)
			return (int)rt->site[i].ep;
	}
	return -1;
}
