/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <dirent.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/errcode.h"
#include "rt/log.h"
#include "rt/privdrop.h"

/* lchown that logs; a file that is gone is not an error. */
static int give(const char *path, uid_t uid, gid_t gid)
{
	if (lchown(path, uid, gid) == 0 || errno == ENOENT)
		return 0;
	int ret = -errno;
	log_error("cannot chown %s: %s", path, vane_strerror(ret));
	return ret;
}

/* The directory and the files directly in it (state.c keeps it flat). */
static int give_dir(const char *dir, uid_t uid, gid_t gid)
{
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		int ret = -errno;
		log_error("cannot create %s: %s", dir, vane_strerror(ret));
		return ret;
	}
	int ret = give(dir, uid, gid);
	DIR *d = opendir(dir);
	if (d == NULL)
		return ret;
	struct dirent *e;
	char path[PATH_MAX];
	while (ret == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		/* A hard link could be a file from elsewhere (/etc/shadow): only
		 * files that live here alone are handed over. */
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink > 1) {
			log_warning("not handing %s to the daemon user: it has other links", path);
			continue;
		}
		ret = give(path, uid, gid);
	}
	closedir(d);
	return ret;
}

/* Entries in `dir` other than . and .. (-1 when it cannot be read). */
static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* The socket, and its directory when vaned alone uses it (not /run, /tmp):
 * unlinking the socket at exit needs write access to the directory. */
static int give_control(const char *control, uid_t uid, gid_t gid)
{
	int ret = give(control, uid, gid);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", control);
	char *slash = strrchr(dir, '/');
	if (ret != 0 || slash == NULL || slash == dir)
		return ret;
	*slash = '\0';
	struct stat st;
	/* Only a directory that holds nothing but the socket is vaned's own;
	 * a shared one (/run, /var/lib, the config's folder) stays as it is. */
	if (stat(dir, &st) == 0 && !(st.st_mode & (S_ISVTX | S_IWOTH)) && st.st_uid == 0 &&
	    dir_entries(dir) == 1)
		ret = give(dir, uid, gid);
	return ret;
}

int privdrop(const char *user, const char *control, const char *state_dir)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int r = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (res == NULL) {
		int ret = r ? -r : VANE_ENOENT;
		log_error("server.user %s: %s", user, r ? vane_strerror(ret) : "no such user");
		return ret;
	}
	uid_t uid = pw.pw_uid;
	gid_t gid = pw.pw_gid;
	if (getuid() == uid && geteuid() == uid)
		return 0;   /* already that user */

	int ret = 0;
	if ((control && (ret = give_control(control, uid, gid)) != 0) ||
	    (state_dir && (ret = give_dir(state_dir, uid, gid)) != 0))
		return ret;

	/* Order matters: groups while still root, the uid last. */
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		ret = -errno;
		log_error("cannot switch to user %s: %s", user, vane_strerror(ret));
		return ret;
	}
	/* Paranoia: root must not be recoverable. */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		log_error("still able to regain root after switching to %s", user);
		return -EPERM;
	}
	log_info("running as user %s (uid %u, gid %u)", user, (unsigned)uid, (unsigned)gid);
	return 0;
}
