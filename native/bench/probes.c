/* See probes.h. The image's sections are located by the counts in its header, which
 * su_view_build has checked before anything here reads them. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/checksum.h"
#include "../core/flow_hash.h"
#include "probes.h"

int bench_image_load(const char *path, struct bench_image *img)
{
	struct su_error err = { 0 };
	const uint8_t *p;
	FILE *f;
	long size;
	int ret;

	memset(img, 0, sizeof(*img));
	f = fopen(path, "rb");
	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return -EIO;
	}
	img->data = malloc((size_t)size);
	if (!img->data) {
		fclose(f);
		return -ENOMEM;
	}
	img->size = fread(img->data, 1, (size_t)size, f);
	fclose(f);
	if (img->size != (size_t)size)
		goto err_free_data;
	ret = su_view_build(img->data, img->size, &img->view, &err);
	if (ret) {
		fprintf(stderr, "%s: %s\n", path, err.message);
		free(img->data);
		return ret;
	}
	p = img->data;
	img->header = (const void *)p;
	p += sizeof(struct su_table_header) + img->header->trusted_count * sizeof(struct su_prefix) +
	     img->header->peer_count * sizeof(struct su_peer);
	img->owners = (const void *)p;
	p += img->header->owner_count * sizeof(struct su_owner);
	/* The keys start the port-slice section (checked: it exists when there are keys). */
	for (uint32_t i = 0; i < img->header->section_count; i++)
		if (img->header->sections[i].kind == SU_KEY_KIND_PORT_SLICE)
			p = img->data + img->header->sections[i].offset;
	img->keys = (const void *)p;
	p += img->header->key_count * sizeof(struct su_slice_key);
	img->ranges = (const void *)p;
	return 0;

err_free_data:
	free(img->data);
	return -EIO;
}

void bench_image_free(struct bench_image *img)
{
	su_view_free(img->view);
	free(img->data);
	memset(img, 0, sizeof(*img));
}

/* xorshift64*: fast, seedable, good enough to scatter probes over a table. */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dull;
}

int bench_probes_pick(const struct bench_image *img, uint8_t kind, uint32_t n, uint64_t seed,
		      struct bench_probe *out)
{
	const struct su_table_header *h = img->header;
	uint64_t state = seed | 1;
	uint32_t have = 0;

	/* Kinds are spread evenly over our bench tables, so drawing a random key and range and
	 * keeping those of the right kind ends fast; the bound only stops a table without any. */
	for (uint64_t tries = 0; have < n && tries < 64ull * n + 1000000; tries++) {
		const struct su_slice_key *k = &img->keys[next_random(&state) % h->key_count];
		const struct su_port_range *r =
			&img->ranges[k->range_first + next_random(&state) % k->range_count];
		struct bench_probe *p = &out[have];
		uint32_t size = k->family == SU_FAMILY_IPV4 ? 4 : 16;

		if (img->owners[r->owner].kind != kind)
			continue;
		p->family = k->family;
		p->protocol = k->protocol;
		p->port = (uint16_t)(r->first + next_random(&state) % ((uint32_t)r->last - r->first + 1));
		memset(p->addr, 0, sizeof(p->addr));
		/* Host bits below the prefix are random: any address of the key's prefix. */
		for (uint32_t bit = 0; bit < size * 8; bit++) {
			uint32_t set = bit < k->prefix_len ? (k->addr[bit / 8] >> (7 - bit % 8)) & 1
							   : (uint32_t)(next_random(&state) & 1);

			p->addr[bit / 8] |= (uint8_t)(set << (7 - bit % 8));
		}
		have++;
	}
	return have == n ? 0 : -ENOENT;
}

/* The probes' IPv6 source (bench_frame_build's src6), for the source filter's conforming destinations. */
static const uint8_t bench_src6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff };

static uint64_t be64_of(const uint8_t *p)
{
	uint64_t w = 0;

	for (int i = 0; i < 8; i++)
		w = w << 8 | p[i];
	return w;
}

int bench_addr_probes(const struct bench_image *img, uint32_t n, uint64_t seed,
		      struct bench_probe *out)
{
	const struct su_table_header *h = img->header;
	const struct su_addr_head *head = NULL;
	const struct su_addr_service *s;
	uint64_t state = seed | 1, low = 0;

	for (uint32_t i = 0; i < h->section_count; i++)
		if (h->sections[i].kind == SU_KEY_KIND_ADDRESS_SLICE)
			head = (const void *)((const uint8_t *)img->data + h->sections[i].offset);
	if (!head || head->service_count == 0)
		return -ENOENT;
	s = (const void *)(head + 1);
	if (s->filter) {
		/* flowhash-1 of the source's first source_bits bits (native/core/addr_slice_kind.h). */
		uint32_t sb = s->source_bits;
		uint64_t hi = sb >= 64 ? ~0ULL : ~0ULL << (64 - sb);
		uint64_t lo = sb >= 128 ? ~0ULL : sb <= 64 ? 0 : ~0ULL << (128 - sb);
		uint64_t x = su_hash_step(be64_of(s->key), be64_of(bench_src6) & hi);

		x = su_hash_step(x, be64_of(bench_src6 + 8) & lo);
		low = su_hash_finish(su_hash_step(x, be64_of(s->key + 8)));
	}
	for (uint32_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].family = SU_FAMILY_IPV6;
		out[i].protocol = IPPROTO_TCP;
		out[i].port = 443;
		out[i].sport = (uint16_t)(1024 + next_random(&state) % (65536 - 1024));
		/* The prefix, then random bits: a random slice of the service for each probe. */
		for (int b = 0; b < 16; b++) {
			uint8_t r = (uint8_t)next_random(&state);
			int keep = s->prefix_len - 8 * b;
			uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff00 >> keep);

			out[i].addr[b] = (uint8_t)((s->addr[b] & mask) | (r & ~mask));
		}
		if (s->filter)
			for (int b = 0; b < 8; b++)
				out[i].addr[8 + b] = (uint8_t)(low >> (56 - 8 * b));
	}
	return 0;
}

int bench_flow_probes(const struct bench_image *img, uint32_t n, uint64_t seed,
		      struct bench_probe *out)
{
	const struct su_table_header *h = img->header;
	const struct su_flow_head *head = NULL;
	const struct su_flow_service *services;
	uint64_t state = seed | 1;

	for (uint32_t i = 0; i < h->section_count; i++)
		if (h->sections[i].kind == SU_KEY_KIND_FLOW_HASH)
			head = (const void *)((const uint8_t *)img->data + h->sections[i].offset);
	if (!head || head->service_count == 0)
		return -ENOENT;
	services = (const void *)(head + 1);
	for (uint32_t i = 0; i < n; i++) {
		const struct su_flow_service *s = &services[next_random(&state) % head->service_count];

		memset(&out[i], 0, sizeof(out[i]));
		out[i].family = s->family;
		out[i].protocol = s->protocol;
		out[i].port = s->port;
		memcpy(out[i].addr, s->addr, 16);
		/* 1024..65535: a random row of the service for each flow. */
		out[i].sport = (uint16_t)(1024 + next_random(&state) % (65536 - 1024));
	}
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

uint32_t bench_frame_build(const struct bench_probe *p, const uint8_t dst_mac[6], uint32_t frame_len,
			   uint8_t *out)
{
	static const uint8_t src_mac[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	static const uint8_t src4[4] = { 203, 0, 113, 10 };            /* TEST-NET-3 */
	static const uint8_t src6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0xff }; /* documentation */
	uint32_t l3 = p->family == SU_FAMILY_IPV4 ? 20 : 40;
	uint32_t l4 = p->protocol == IPPROTO_TCP ? 20 : 8;
	uint32_t len = frame_len > 14 + l3 + l4 ? frame_len : 14 + l3 + l4;
	uint8_t *ip = out + 14, *t = ip + l3;
	uint16_t csum;

	memset(out, 0, len);
	memcpy(out, dst_mac, 6);
	memcpy(out + 6, src_mac, 6);
	if (p->family == SU_FAMILY_IPV4) {
		put16(out + 12, 0x0800);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(len - 14));
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = p->protocol;
		memcpy(ip + 12, src4, 4);
		memcpy(ip + 16, p->addr, 4);
		/* The sum is in machine order, and so stored as is (checksum.h). */
		csum = su_csum_finish(su_csum_add(0, ip, 20));
		memcpy(ip + 10, &csum, 2);
	} else {
		put16(out + 12, 0x86dd);
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(len - 14 - 40));
		ip[6] = p->protocol;
		ip[7] = 64;
		memcpy(ip + 8, src6, 16);
		memcpy(ip + 24, p->addr, 16);
	}
	put16(t, p->sport ? p->sport : 40000); /* one flow per probe is all the benches need */
	put16(t + 2, p->port);
	if (p->protocol == IPPROTO_UDP)
		put16(t + 4, (uint16_t)(len - 14 - l3));
	else
		t[12] = 5 << 4; /* data offset: 5 words */
	return len;
}
