/* What the interface allows before we touch it: does it exist, which RX queues it has, and
 * whether another XDP program already sits on it. Used by port.c while opening. */
#include <dirent.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"

static int rx_queues_from_ethtool(const char *ifname, uint32_t *count)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = { 0 };
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		ret = -errno;
	else
		/* RX queues carry either dedicated rx channels or combined ones (NIC drivers). */
		*count = ch.rx_count + ch.combined_count;
	close(fd);
	return ret;
}

/* Devices without ethtool channels (lo, dummy) still list their queues in sysfs, as seen from
 * the namespace that mounted /sys (`ip netns exec` remounts it). */
static int rx_queues_from_sysfs(const char *ifname, uint32_t *count)
{
	char path[128];
	struct dirent *e;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	dir = opendir(path);
	if (!dir)
		return -errno;
	*count = 0;
	while ((e = readdir(dir)))
		if (strncmp(e->d_name, "rx-", 3) == 0)
			(*count)++;
	closedir(dir);
	return 0;
}

void su_iface_driver(const char *ifname, char *out, size_t size)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(out, size, "%s", "");
	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
		snprintf(out, size, "%.*s", (int)sizeof(info.driver), info.driver);
	close(fd);
}

int su_iface_rx_queue_count(const char *ifname, uint32_t *count, struct su_error *err)
{
	if (if_nametoindex(ifname) == 0)
		return su_error_set(err, "ERR_INTERFACE_NOT_FOUND", 0, NULL,
				    "Expected an existing interface for interface but received '%s': "
				    "no such interface in this network namespace", ifname);
	if (rx_queues_from_ethtool(ifname, count) == 0 && *count > 0)
		return 0;
	if (rx_queues_from_sysfs(ifname, count) == 0 && *count > 0)
		return 0;
	return su_error_set(err, "ERR_SYSCALL", EOPNOTSUPP, "ioctl",
			    "Could not read the RX queue count of '%s' (ethtool channels and sysfs "
			    "both unavailable)", ifname);
}

int su_iface_check_queues(const struct su_port_config *cfg, struct su_error *err)
{
	uint32_t count;
	int ret = su_iface_rx_queue_count(cfg->ifname, &count, err);

	if (ret)
		return ret;
	for (uint32_t i = 0; i < cfg->queue_count; i++) {
		if (cfg->queue_ids[i] >= count)
			return su_error_set(err, "ERR_QUEUE_NOT_FOUND", 0, NULL,
					    "Expected a queue index from 0 to %u for queues[%u] but "
					    "received %u: '%s' has %u RX queue%s",
					    count - 1, i, cfg->queue_ids[i], cfg->ifname, count,
					    count == 1 ? "" : "s");
	}
	return 0;
}

static void prog_name(uint32_t id, char *name, size_t size)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	snprintf(name, size, "?");
	if (fd < 0)
		return;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		snprintf(name, size, "%s", info.name);
	close(fd);
}

static const char *attach_mode_name(uint8_t mode)
{
	switch (mode) {
	case XDP_ATTACHED_DRV:
		return "driver";
	case XDP_ATTACHED_SKB:
		return "generic";
	case XDP_ATTACHED_HW:
		return "offload";
	default:
		return "several";
	}
}

/* A program already on the interface is refused unless the caller asked to replace it. Ours from
 * a process that died is never found here: its BPF link went with it. One held by a live BPF link
 * (another process) cannot be detached from outside, so it is refused even with `replace`. */
int su_iface_check_foreign_prog(const struct su_port_config *cfg, int ifindex,
				struct su_error *err)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[BPF_OBJ_NAME_LEN + 1];
	int ret;

	ret = bpf_xdp_query(ifindex, 0, &q);
	if (ret)
		return su_error_set(err, "ERR_SYSCALL", ret, "bpf_xdp_query",
				    "Could not query the XDP programs of '%s'", cfg->ifname);
	if (q.prog_id == 0 && q.drv_prog_id == 0 && q.skb_prog_id == 0 && q.hw_prog_id == 0)
		return 0;

	prog_name(q.prog_id ? q.prog_id : (q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id), name,
		  sizeof(name));
	if (!cfg->replace)
		return su_error_set(err, "ERR_XDP_PROGRAM_PRESENT", EBUSY, NULL,
				    "Expected '%s' to carry no XDP program but it carries program "
				    "'%s' (id %u, %s mode); pass replace: true to replace it",
				    cfg->ifname, name, q.prog_id ? q.prog_id : q.drv_prog_id,
				    attach_mode_name(q.attach_mode));

	static const struct { uint32_t flag; } modes[] = {
		{ XDP_FLAGS_DRV_MODE }, { XDP_FLAGS_SKB_MODE }, { XDP_FLAGS_HW_MODE },
	};
	uint32_t ids[] = { q.drv_prog_id, q.skb_prog_id, q.hw_prog_id };

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		if (!ids[i])
			continue;
		ret = bpf_xdp_detach(ifindex, modes[i].flag, NULL);
		if (ret == -EBUSY)
			return su_error_set(err, "ERR_XDP_PROGRAM_PRESENT", EBUSY, "bpf_xdp_detach",
					    "Could not replace XDP program '%s' (id %u) on '%s': "
					    "another process holds it through a BPF link",
					    name, ids[i], cfg->ifname);
		if (ret)
			return su_error_set(err, "ERR_SYSCALL", ret, "bpf_xdp_detach",
					    "Could not detach XDP program '%s' (id %u) from '%s'",
					    name, ids[i], cfg->ifname);
	}
	return 0;
}
