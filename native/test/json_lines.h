/* Line-oriented JSON for the C drivers that TypeScript tests script (native/test/steer_run.c):
 * hex arguments in, one JSON object per answer out. Static helpers, no state. */
#ifndef SU_TEST_JSON_LINES_H
#define SU_TEST_JSON_LINES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* ---- Output ------------------------------------------------------------------------------- */

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_error(const char *code, const char *message)
{
	printf("{\"ok\":false,\"code\":");
	print_json_string(code);
	printf(",\"message\":");
	print_json_string(message);
	printf("}\n");
}

static void print_errno(const char *what, int err)
{
	char message[256];

	snprintf(message, sizeof(message), "%s: %s", what, strerror(err < 0 ? -err : err));
	print_error("ERR_SYSCALL", message);
}

/* ---- Input -------------------------------------------------------------------------------- */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes `text` ("-" is empty) into a new buffer; -1 on bad hex. */
static ssize_t unhex(const char *text, uint8_t **out)
{
	size_t len = strcmp(text, "-") == 0 ? 0 : strlen(text);
	uint8_t *bytes;

	if (len % 2)
		return -1;
	/* One spare byte: malloc(0) may return NULL, which reads like a failure. */
	bytes = malloc(len / 2 + 1);
	if (!bytes)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(bytes);
			return -1;
		}
		bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	*out = bytes;
	return (ssize_t)(len / 2);
}

static void print_hex(const uint8_t *bytes, size_t len)
{
	for (size_t i = 0; i < len; i++)
		printf("%02x", bytes[i]);
}

/* Splits `line` at spaces into at most `max` words; returns how many. */
static int split(char *line, char **words, int max)
{
	int n = 0;

	for (char *save = NULL, *w = strtok_r(line, " \t\r\n", &save); w && n < max;
	     w = strtok_r(NULL, " \t\r\n", &save))
		words[n++] = w;
	return n;
}

#endif /* SU_TEST_JSON_LINES_H */
