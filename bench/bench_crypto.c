/* bench_crypto - seal/open throughput per suite and Noise IK handshakes per
 * second, on one core (the calling thread).
 *
 * Usage: bench_crypto [-t SECONDS]   (default 1 s per measurement)
 *
 * Seal/open use ntm's transport path exactly as the data plane will: a
 * Noise transport cipher state with an explicit counter, the 16-byte DATA
 * header as associated data, in place. A handshake is a complete IK exchange
 * (both sides' work: 4 X25519 operations and key derivation per side) ending
 * in Split(). Figures are wall-clock throughput of this one thread; run on an
 * idle machine and compare ratios, not absolutes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "noise.h"
#include "util.h"
#include "wire.h"

static double seconds = 1.0;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_crypto: %s: %s\n", what, strerror(-err));
	exit(1);
}

struct pair {
	struct ntm_noise_cs tx, rx;
};

static void handshake(const char *proto, const uint8_t *is, const uint8_t *ipub,
		      const uint8_t *rsk, const uint8_t *rpub, struct pair *i, struct pair *r)
{
	struct ntm_noise_hs hi, hr;
	uint8_t m1[256], m2[256], pl[64];
	size_t l1, l2, pll;
	int e;
	(void)ipub;

	struct ntm_noise_config ci = { .protocol_name = proto, .initiator = true,
				       .s_priv = is, .rs = rpub };
	struct ntm_noise_config cr = { .protocol_name = proto, .initiator = false, .s_priv = rsk };
	if ((e = ntm_noise_hs_init(&hi, &ci)) || (e = ntm_noise_hs_init(&hr, &cr)))
		die("noise init", e);
	uint8_t payload[NTM_HS_INIT_PAYLOAD_LEN] = { 0 };
	if ((e = ntm_noise_write(&hi, payload, sizeof(payload), m1, sizeof(m1), &l1)))
		die("write 1", e);
	if ((e = ntm_noise_read(&hr, m1, l1, pl, sizeof(pl), &pll)))
		die("read 1", e);
	if ((e = ntm_noise_write(&hr, NULL, 0, m2, sizeof(m2), &l2)))
		die("write 2", e);
	if ((e = ntm_noise_read(&hi, m2, l2, pl, sizeof(pl), &pll)))
		die("read 2", e);
	if ((e = ntm_noise_split(&hi, &i->tx, &i->rx)) || (e = ntm_noise_split(&hr, &r->tx, &r->rx)))
		die("split", e);
	ntm_noise_hs_clear(&hi);
	ntm_noise_hs_clear(&hr);
}

static void pair_clear(struct pair *p)
{
	ntm_noise_cs_clear(&p->tx);
	ntm_noise_cs_clear(&p->rx);
}

/* Gbit/s of payload sealed (or sealed then opened when do_open). */
static double bench_transport(struct pair *a, struct pair *b, size_t len, int do_open)
{
	static uint8_t pkt[NTM_DATA_HDR_LEN + 65536 + NTM_TAG_LEN];
	uint8_t *hdr = pkt, *body = pkt + NTM_DATA_HDR_LEN;
	uint64_t n = 0, bytes = 0;
	double t0 = now(), t;
	int e;

	memset(body, 0xa5, len);
	do {
		for (int k = 0; k < 256; k++, n++) {
			ntm_data_header_encode(hdr, NTM_DATA_HDR_LEN, 1, n);
			if ((e = ntm_noise_cs_seal(&a->tx, n, hdr, NTM_DATA_HDR_LEN, body, len, body)))
				die("seal", e);
			if (do_open && (e = ntm_noise_cs_open(&b->rx, n, hdr, NTM_DATA_HDR_LEN, body,
							     len + NTM_TAG_LEN, body)))
				die("open", e);
			bytes += len;
		}
		t = now() - t0;
	} while (t < seconds);
	return bytes * 8 / t / 1e9;
}

static double bench_handshakes(const char *proto, const uint8_t *is, const uint8_t *ipub,
			       const uint8_t *rsk, const uint8_t *rpub)
{
	struct pair i, r;
	uint64_t n = 0;
	double t0 = now(), t;

	do {
		handshake(proto, is, ipub, rsk, rpub, &i, &r);
		pair_clear(&i);
		pair_clear(&r);
		n++;
		t = now() - t0;
	} while (t < seconds);
	return n / t;
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "t:")) != -1) {
		if (c == 't' && atof(optarg) > 0)
			seconds = atof(optarg);
		else {
			fprintf(stderr, "usage: bench_crypto [-t SECONDS]\n");
			return 2;
		}
	}

	uint8_t is[32], ipub[32], rsk[32], rpub[32];
	int e;
	if ((e = ntm_x25519_keygen(is, ipub)) || (e = ntm_x25519_keygen(rsk, rpub)))
		die("keygen", e);

	static const struct { const char *name, *proto; } suites[] = {
		{ "AESGCM", "Noise_IK_25519_AESGCM_SHA256" },
		{ "ChaChaPoly", "Noise_IK_25519_ChaChaPoly_SHA256" },
	};
	static const size_t sizes[] = { 64, 1420 };

	printf("ntm bench_crypto: one core, %.1f s per figure, in-place seal/open with DATA header as AD\n",
	       seconds);
	printf("%-11s %6s %12s %16s\n", "suite", "bytes", "seal Gbit/s", "seal+open Gbit/s");
	for (size_t s = 0; s < 2; s++) {
		struct pair a, b;
		handshake(suites[s].proto, is, ipub, rsk, rpub, &a, &b);
		for (size_t z = 0; z < 2; z++) {
			double seal = bench_transport(&a, &b, sizes[z], 0);
			/* fresh session so open sees counters it has not seen */
			pair_clear(&a);
			pair_clear(&b);
			handshake(suites[s].proto, is, ipub, rsk, rpub, &a, &b);
			double both = bench_transport(&a, &b, sizes[z], 1);
			printf("%-11s %6zu %12.2f %16.2f\n", suites[s].name, sizes[z], seal, both);
		}
		pair_clear(&a);
		pair_clear(&b);
	}
	for (size_t s = 0; s < 2; s++)
		printf("IK handshakes/s (%s, both sides on one core): %.0f\n", suites[s].name,
		       bench_handshakes(suites[s].proto, is, ipub, rsk, rpub));
	ntm_wipe(is, sizeof(is));
	ntm_wipe(rsk, sizeof(rsk));
	return 0;
}
