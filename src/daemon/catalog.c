/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "daemon/catalog.h"
#include "zone/catalog.h"
#include "zone/journal.h"

int catalog_prepare(const struct vane_conf *conf, const struct conf_zone *cz,
		    const struct zone *prev, int *err)
{
	const char **members = calloc(conf->nzones + 1, sizeof(*members));
	unsigned n = 0;
	char *text = NULL;
	size_t len = 0;
	int fd = -1;
	*err = 0;
	if (!members) {
		*err = VANE_ENOMEM;
		return -1;
	}
	for (unsigned i = 0; i < conf->nzones; i++)
		if (conf->zones[i].catalog_zone && strcmp(conf->zones[i].catalog_zone, cz->name) == 0)
			members[n++] = conf->zones[i].name;
	if (catalog_same(prev, members, n))
		goto done;
	/* Unix time, as Knot's serial policy "unixtime": a restart (which
	 * forgets the old serial) still moves it forward. */
	uint32_t serial = (uint32_t)time(NULL);
	if (prev && !serial_lt(prev->serial, serial))
		serial = prev->serial + 1;
	*err = catalog_text(cz->name, members, n, serial, &text, &len);
	if (*err)
		goto done;
	fd = memfd_create("vane-catalog", MFD_CLOEXEC);
	if (fd < 0) {
		*err = -errno;
		goto done;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*err = w < 0 ? -errno : VANE_ENOMEM;
			close(fd);
			fd = -1;
			goto done;
		}
		off += (size_t)w;
	}
	if (lseek(fd, 0, SEEK_SET) != 0) {
		*err = -errno;
		close(fd);
		fd = -1;
	}
done:
	free(text);
	free(members);
	return fd;
}
