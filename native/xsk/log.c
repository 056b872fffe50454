/* Captures what libbpf and libxdp print while a port opens (verifier logs, attach complaints), so
 * that it can go into the error message instead of the application's stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "internal.h"

/* The tail is what matters in a verifier log: the failing instruction is at the end. */
#define SU_LOG_KEEP 2048

static _Thread_local char log_buf[SU_LOG_KEEP * 2];
static _Thread_local size_t log_len;

static void log_append(const char *fmt, va_list ap)
{
	char line[1024];
	int n = vsnprintf(line, sizeof(line), fmt, ap);

	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (log_len + (size_t)n >= sizeof(log_buf)) {
		/* keep the newest SU_LOG_KEEP bytes */
		size_t keep = log_len > SU_LOG_KEEP ? SU_LOG_KEEP : log_len;

		memmove(log_buf, log_buf + log_len - keep, keep);
		log_len = keep;
	}
	memcpy(log_buf + log_len, line, (size_t)n);
	log_len += (size_t)n;
	log_buf[log_len] = '\0';
}

static int bpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_DEBUG)
		log_append(fmt, ap);
	return 0;
}

static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBXDP_DEBUG)
		log_append(fmt, ap);
	return 0;
}

void su_log_capture_begin(void)
{
	log_len = 0;
	log_buf[0] = '\0';
	libbpf_set_print(bpf_print);
	libxdp_set_print(xdp_print);
}

const char *su_log_capture_end(void)
{
	const char *tail = log_len > SU_LOG_KEEP ? log_buf + log_len - SU_LOG_KEEP : log_buf;

	/* Outside an open nothing of ours is in flight; staying silent beats printing to a
	 * stderr that belongs to the application. */
	return tail;
}
