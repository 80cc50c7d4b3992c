/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "steer/export.h"

static bool ep_up(const struct steer_endpoint *ep, const struct steer_health *health)
{
	/* Past the snapshot, or no snapshot: the runtime has not decided, up. */
	if (ep->health == STEER_NONE || !health || !health->state || ep->health >= health->n)
		return true;
	return health->state[ep->health].up;
}

uint64_t steer_export_set(const struct steer_service *svc, const struct steer_health *health,
			  const struct steer_admin *admin, uint64_t now_ms)
{
	static const struct steer_admin_ep none;
	uint64_t weighted = 0, standby = 0, open = 0;
	/* Health acts through the health filter: a policy without it answers
	 * endpoints that are down, so export them.  A drain stays the
	 * operator's word that the endpoint is out. */
	bool by_health = false;
	for (unsigned k = 0; k < svc->n_policy; k++)
		by_health |= svc->policy[k] == STEER_F_HEALTH;
	if (!by_health)
		health = NULL;
	for (uint32_t i = 0; i < svc->n_ep && i < STEER_MAX_ENDPOINTS; i++) {
		const struct steer_endpoint *ep = &svc->ep[i];
		const struct steer_admin_ep *a = admin && i < admin->n ? &admin->ep[i] : &none;
		uint64_t bit = 1ull << i;
		if (a->drained)
			continue;
		if (ep->standby != STEER_STANDBY_NEVER)
			open |= bit;
		if (!ep_up(ep, health))
			continue;
		if (steer_shown_weight(ep, a, now_ms) > 0)
			weighted |= bit;
		else if (ep->standby != STEER_STANDBY_NEVER)
			standby |= bit;
	}
	if (weighted)
		return weighted;
	if (standby)
		return standby;
	return svc->all_down == STEER_DOWN_OPEN ? open : 0;
}
