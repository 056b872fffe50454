/* Pinning the XDP program's link and maps in the bpf filesystem, so that the in-kernel lane keeps
 * forwarding while the router process restarts (SIGTERM, kill -9, an upgrade) and the next
 * process adopts its tables, fragment state and counters instead of starting cold. Used by
 * bpf_prog.c when a port is opened with a pin directory, and by su_pin_remove (--detach). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"

/* The file the link is pinned as; the maps are pinned under their own names beside it. */
#define SU_PIN_LINK "link"

static int pin_path(char *out, size_t size, const char *dir, const char *name, struct su_error *err)
{
	if ((size_t)snprintf(out, size, "%s/%s", dir, name) >= size)
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected a pin directory shorter than %zu bytes but received "
				    "'%s'", size - 32, dir);
	return 0;
}

static int bpf_fs_error(const char *dir, const char *at, struct su_error *err)
{
	return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
			    "Expected the pin directory '%s' on a bpf filesystem but '%s' is not on "
			    "one: mount one (mount -t bpf bpf /sys/fs/bpf; inside 'ip netns exec', "
			    "which mounts a /sys of its own, give a directory on a bpf filesystem "
			    "mounted elsewhere) or pin nothing",
			    dir, at);
}

/* mkdir -p of `dir` on a bpf filesystem: the deepest part that exists must be on one already
 * (nothing is made on another filesystem), and so must the result. */
static int make_dir(const char *dir, struct su_error *err)
{
	char path[PATH_MAX];
	struct statfs fs;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path) || dir[0] != '/')
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected an absolute pin directory but received '%s'", dir);
	/* Up to the deepest existing ancestor ("/" at worst). */
	while (statfs(path, &fs) != 0) {
		char *slash = strrchr(path, '/');

		if (slash == path) {
			path[1] = '\0';
			break;
		}
		*slash = '\0';
	}
	if (statfs(path, &fs) != 0 || fs.f_type != BPF_FS_MAGIC)
		return bpf_fs_error(dir, path, err);
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return su_error_set(err, "ERR_SYSCALL", errno, "mkdir",
					    "Could not make the pin directory '%s': %s", path,
					    strerror(errno));
		*p = c;
		if (c == '\0')
			break;
	}
	if (statfs(dir, &fs) || fs.f_type != BPF_FS_MAGIC)
		return bpf_fs_error(dir, dir, err);
	return 0;
}

int su_pin_prepare(struct bpf_object *obj, const char *dir, struct su_error *err)
{
	struct bpf_map *map;
	int ret;

	if (dir && (ret = make_dir(dir, err)))
		return ret;
	/* The maps that declare pinning (bpf/maps.h) get a path under `dir`; libbpf then reuses
	 * what is pinned there, or pins its new map. Without a directory nothing is pinned: the
	 * declaration alone would pin under /sys/fs/bpf and share state between unrelated ports. */
	bpf_object__for_each_map(map, obj) {
		char path[PATH_MAX];

		if (!bpf_map__pin_path(map))
			continue;
		if (!dir) {
			bpf_map__set_pin_path(map, NULL);
			continue;
		}
		if ((ret = pin_path(path, sizeof(path), dir, bpf_map__name(map), err)))
			return ret;
		if ((ret = bpf_map__set_pin_path(map, path)))
			return su_error_set(err, "ERR_SYSCALL", ret, "bpf_map__set_pin_path",
					    "Could not pin map '%s' at '%s'", bpf_map__name(map),
					    path);
	}
	return 0;
}

int su_pin_adopt_link(const char *dir, int ifindex, int *link_fd, struct su_error *err)
{
	struct bpf_link_info info = { 0 };
	uint32_t len = sizeof(info);
	char path[PATH_MAX];
	int fd, ret;

	*link_fd = -1;
	if ((ret = pin_path(path, sizeof(path), dir, SU_PIN_LINK, err)))
		return ret;
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return su_error_set(err, "ERR_SYSCALL", errno, "bpf_obj_get",
				    "Could not open the pinned link '%s'", path);
	}
	/* A link whose interface went away is defunct (ifindex 0); one on another interface means
	 * the directory is another port's. Either way it is not ours to take over. */
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.type != BPF_LINK_TYPE_XDP) {
		close(fd);
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "Expected '%s' to be a pinned XDP link but it is not", path);
	}
	if (info.xdp.ifindex == 0) {
		close(fd);
		unlink(path);
		return 0;
	}
	if ((int)info.xdp.ifindex != ifindex) {
		close(fd);
		return su_error_set(err, "ERR_INVALID_OPTION", 0, NULL,
				    "The pinned link '%s' attaches to interface index %u, not to "
				    "this port's %d: give each interface its own pin directory",
				    path, info.xdp.ifindex, ifindex);
	}
	*link_fd = fd;
	return 1;
}

int su_pin_link(const char *dir, int link_fd, struct su_error *err)
{
	char path[PATH_MAX];
	int ret;

	if ((ret = pin_path(path, sizeof(path), dir, SU_PIN_LINK, err)))
		return ret;
	if (bpf_obj_pin(link_fd, path))
		return su_error_set(err, "ERR_SYSCALL", errno, "bpf_obj_pin",
				    "Could not pin the XDP link at '%s'", path);
	return 0;
}

int su_pin_remove(const char *dir, struct su_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int ret = 0;

	if (!d) {
		if (errno == ENOENT)
			return 0;
		return su_error_set(err, "ERR_SYSCALL", errno, "opendir",
				    "Could not open the pin directory '%s'", dir);
	}
	/* Unpinning the link is what detaches the program (no process holds it any more); the
	 * maps go with their last reference. */
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((ret = pin_path(path, sizeof(path), dir, e->d_name, err)))
			break;
		if (unlink(path)) {
			ret = su_error_set(err, "ERR_SYSCALL", errno, "unlink",
					   "Could not unpin '%s'", path);
			break;
		}
	}
	closedir(d);
	if (!ret && rmdir(dir) && errno != ENOENT)
		ret = su_error_set(err, "ERR_SYSCALL", errno, "rmdir",
				   "Could not remove the pin directory '%s'", dir);
	return ret;
}
