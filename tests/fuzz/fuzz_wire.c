/* fuzz_wire.c - libFuzzer harness for every decoder in lib/wire.c and
 * lib/wire_ctl.c (HANDSHAKE_REFUSE and its payload, RELAY_PROBE included).
 *
 * The input goes to ntm_wire_type, each outer decoder and ntm_ctl_decode.
 * Whatever decodes must re-encode to exactly the input bytes (the encoding
 * is canonical), and decoded slices must lie inside the input; anything else
 * aborts (a COOKIE_REPLY is also opened and sealed again). The input is also tried as name text for ntm_name_set: a name it
 * accepts must survive a DIRECTION_REQ round trip. The federation messages
 * of dc/fedmsg.c (FED_DIRECTION_REQ, _RESP and FED_ROUTE_MOVED) are decoded too, with the
 * same round trip. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cookie.h"
#include "fedmsg.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static uint8_t out[NTM_MAX_DATAGRAM + 1];

static bool inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
	return p >= data && n <= size && (size_t)(p - data) <= size - n;
}

static void fuzz_hs_init(const uint8_t *data, size_t size)
{
	struct ntm_hs_init m;
	uint8_t prologue[NTM_PROLOGUE_LEN];

	if (ntm_hs_init_decode(data, size, &m) != 0)
		return;
	CHECK(inside(m.noise, NTM_HS_INIT_NOISE_LEN, data, size));
	CHECK(inside(m.mac1, NTM_MAC1_LEN, data, size));
	CHECK(inside(m.mac2, NTM_MAC2_LEN, data, size));
	CHECK(m.mac1 == data + NTM_HS_INIT_MAC1_OFF && m.mac2 == data + NTM_HS_INIT_MAC2_OFF);
	int n = ntm_hs_init_encode(out, sizeof(out), m.suite, m.purpose, m.sender, m.noise);
	CHECK(n == (int)size);
	memcpy(out + NTM_HS_INIT_MAC1_OFF, m.mac1, NTM_MAC1_LEN);
	memcpy(out + NTM_HS_INIT_MAC2_OFF, m.mac2, NTM_MAC2_LEN);
	CHECK(memcmp(out, data, size) == 0);
	ntm_hs_prologue(prologue, m.suite, m.purpose, m.sender);
	CHECK(memcmp(prologue + 4, data, 8) == 0);
}

/* COOKIE_REPLY: decode, the header again, and what an initiator does with
 * it (open against a mac1: only 0 or -EBADMSG); a reply sealed with the
 * input's bytes as mac1 and cookie opens to that cookie, and not with
 * another mac1. */
static void fuzz_cookie_reply(const uint8_t *data, size_t size)
{
	struct ntm_cookie_reply m, m2;
	uint8_t key[32] = { 0 }, mac1[NTM_MAC1_LEN] = { 0 }, cookie[NTM_COOKIE_LEN];

	if (ntm_cookie_reply_decode(data, size, &m) != 0)
		return;
	CHECK(size == NTM_COOKIE_REPLY_LEN && m.receiver != 0);
	CHECK(inside(m.nonce, NTM_COOKIE_NONCE_LEN, data, size));
	CHECK(inside(m.sealed, NTM_COOKIE_LEN + 16, data, size));
	CHECK(ntm_cookie_reply_header(out, sizeof(out), m.receiver) == NTM_COOKIE_REPLY_LEN);
	CHECK(memcmp(out, data, 8) == 0);
	int r = ntm_cookie_reply_open(&m, key, mac1, cookie);
	CHECK(r == 0 || r == -EBADMSG);
	memcpy(key, data + 32, 32);
	CHECK(ntm_cookie_reply_seal(out, sizeof(out), key, m.receiver, m.nonce, m.sealed) ==
	      NTM_COOKIE_REPLY_LEN);
	CHECK(ntm_cookie_reply_decode(out, NTM_COOKIE_REPLY_LEN, &m2) == 0);
	CHECK(ntm_cookie_reply_open(&m2, key, m.nonce, cookie) == 0);
	CHECK(memcmp(cookie, m.sealed, NTM_COOKIE_LEN) == 0);
	memcpy(mac1, m.nonce, sizeof(mac1));
	mac1[0] ^= 1;
	CHECK(ntm_cookie_reply_open(&m2, key, mac1, cookie) == -EBADMSG);
}

static void fuzz_hs_resp(const uint8_t *data, size_t size)
{
	struct ntm_hs_resp m;

	if (ntm_hs_resp_decode(data, size, &m) != 0)
		return;
	CHECK(inside(m.noise, NTM_HS_RESP_NOISE_LEN, data, size));
	CHECK(inside(m.mac1, NTM_MAC1_LEN, data, size));
	int n = ntm_hs_resp_encode(out, sizeof(out), m.sender, m.receiver, m.noise);
	CHECK(n == (int)size);
	memcpy(out + NTM_HS_RESP_LEN - NTM_MAC1_LEN, m.mac1, NTM_MAC1_LEN);
	CHECK(memcmp(out, data, size) == 0);
}

static void fuzz_hs_refuse(const uint8_t *data, size_t size)
{
	struct ntm_hs_refuse m;

	if (ntm_hs_refuse_decode(data, size, &m) != 0)
		return;
	CHECK(inside(m.noise, NTM_HS_REFUSE_NOISE_LEN, data, size));
	CHECK(inside(m.mac1, NTM_MAC1_LEN, data, size));
	int n = ntm_hs_refuse_encode(out, sizeof(out), m.receiver, m.noise);
	CHECK(n == (int)size);
	memcpy(out + NTM_HS_REFUSE_LEN - NTM_MAC1_LEN, m.mac1, NTM_MAC1_LEN);
	CHECK(memcmp(out, data, size) == 0);
}

/* The refusal's payload as the node reads it after decryption. */
static void fuzz_refuse_payload(const uint8_t *data, size_t size)
{
	struct ntm_refuse r;

	if (ntm_refuse_decode(data, size, &r) != 0)
		return;
	CHECK(size == NTM_REFUSE_PAYLOAD_LEN);
	CHECK(r.reason == NTM_REFUSE_TS_OLD || r.reason == NTM_REFUSE_TS_AHEAD ||
	      r.reason == NTM_REFUSE_NOT_ENROLLED);
	int n = ntm_refuse_encode(out, sizeof(out), &r);
	CHECK(n == (int)size);
	CHECK(memcmp(out, data, size) == 0);
}

static void fuzz_data(const uint8_t *data, size_t size)
{
	struct ntm_data m;

	if (ntm_data_decode(data, size, &m) != 0)
		return;
	CHECK(m.header == data);
	CHECK(m.ct_len >= 16);
	CHECK(inside(m.ct, m.ct_len, data, size));
	CHECK(NTM_DATA_HDR_LEN + m.ct_len == size);
	CHECK(ntm_data_header_encode(out, sizeof(out), m.receiver, m.counter) == NTM_DATA_HDR_LEN);
	CHECK(memcmp(out, data, NTM_DATA_HDR_LEN) == 0);
}

static void fuzz_relay(const uint8_t *data, size_t size)
{
	struct ntm_relay_msg m;

	if (ntm_relay_decode(data, size, &m) != 0)
		return;
	CHECK(m.inner_len == 0 || inside(m.inner, m.inner_len, data, size));
	CHECK(m.inner_len != 0 || m.inner == NULL);
	CHECK(inside(m.tag, 16, data, size));
	CHECK(m.ad_len == NTM_RELAY_HDR_LEN + m.inner_len);
	int n = ntm_relay_encode(out, sizeof(out), m.side, m.direction, m.alloc_id, m.counter,
				 m.inner, m.inner_len);
	CHECK(n == (int)size);
	memcpy(out + m.ad_len, m.tag, 16);
	CHECK(memcmp(out, data, size) == 0);
}

static void fuzz_probe(const uint8_t *data, size_t size)
{
	struct ntm_probe m;

	if (ntm_probe_decode(data, size, &m) != 0)
		return;
	CHECK(size == NTM_PROBE_LEN);
	CHECK(inside(m.tag, 16, data, size));
	CHECK(m.route_id != 0 && m.seq != 0);
	CHECK((m.kind == NTM_PROBE_REQUEST) == (m.echo == 0));
	int n = ntm_probe_encode(out, sizeof(out), &m);
	CHECK(n == (int)size);
	memcpy(out + NTM_PROBE_TAG_OFF, m.tag, 16);
	CHECK(memcmp(out, data, size) == 0);
}

/* RELAY_PROBE: canonical, 36 bytes, and a decoded probe re-encodes as the
 * other kind with only byte 2 changed (the relay's echo in place). */
static void fuzz_relay_probe(const uint8_t *data, size_t size)
{
	struct ntm_relay_probe m;

	if (ntm_relay_probe_decode(data, size, &m) != 0)
		return;
	CHECK(size == NTM_RELAY_PROBE_LEN && m.token.key_id != 0);
	CHECK(ntm_relay_probe_encode(out, sizeof(out), &m) == (int)size);
	CHECK(memcmp(out, data, size) == 0);
	m.kind = m.kind == NTM_RELAY_PROBE_REQUEST ? NTM_RELAY_PROBE_ECHO : NTM_RELAY_PROBE_REQUEST;
	CHECK(ntm_relay_probe_encode(out, sizeof(out), &m) == (int)size);
	CHECK(memcmp(out, data, 2) == 0 && memcmp(out + 3, data + 3, size - 3) == 0);
}

static void fuzz_ctl(const uint8_t *data, size_t size)
{
	static struct ntm_ctl m;
	char text[64];

	if (ntm_ctl_decode(data, size, &m) != 0)
		return;
	int n = ntm_ctl_encode(&m, out, sizeof(out));
	CHECK(n == (int)size);
	CHECK(memcmp(out, data, size) == 0);
	CHECK(strcmp(ntm_ctl_type_name(m.type), "unknown") != 0);
	if (m.type == NTM_CTL_KEEPALIVE_ACK)
		CHECK(ntm_endpoint_format(&m.u.ka_ack.observed, text, sizeof(text)) > 0);
	if (m.type == NTM_CTL_NETCHECK_PROBE)
		CHECK(m.u.nc_probe.token != 0 && size == 2 + 8 + NTM_NETCHECK_PAD);
	if (m.type == NTM_CTL_NETCHECK_ECHO) {
		/* the DC's answer is never larger than the probe it answers */
		CHECK(size <= 2 + 8 + NTM_NETCHECK_PAD);
		CHECK(ntm_endpoint_format(&m.u.nc_echo.observed, text, sizeof(text)) > 0);
		if (m.u.nc_echo.has_alt)
			CHECK(ntm_endpoint_format(&m.u.nc_echo.alt, text, sizeof(text)) > 0);
	}
}

/* A name ntm_name_set accepts is one the decoder accepts on the wire. */
static void fuzz_name(const uint8_t *data, size_t size)
{
	static struct ntm_ctl c, back;
	char text[NTM_NAME_MAX + 8];

	if (size >= sizeof(text))
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&c, 0, sizeof(c));
	if (ntm_name_set(&c.u.dir_req.name, text) != 0)
		return;
	c.type = NTM_CTL_DIRECTION_REQ;
	c.u.dir_req.kind = NTM_DIR_BY_NAME;
	int n = ntm_ctl_encode(&c, out, sizeof(out));
	CHECK(n > 0);
	CHECK(ntm_ctl_decode(out, (size_t)n, &back) == 0);
	CHECK(back.u.dir_req.name.len == c.u.dir_req.name.len);
	CHECK(strcmp(back.u.dir_req.name.s, c.u.dir_req.name.s) == 0);
}

/* FED_DIRECTION_REQ / _RESP / FED_ROUTE_MOVED: what decodes encodes to the same bytes. */
static void fuzz_fed(const uint8_t *data, size_t size)
{
	static struct ntm_fed_msg m;

	if (ntm_fed_decode(data, size, &m) != 0)
		return;
	int n = ntm_fed_encode(&m, out, sizeof(out));
	CHECK(n == (int)size);
	CHECK(memcmp(out, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int type = ntm_wire_type(data, size);

	CHECK(type == -EBADMSG || type == NTM_MSG_HS_INIT || type == NTM_MSG_HS_RESP ||
	      type == NTM_MSG_PROBE || type == NTM_MSG_DATA || type == NTM_MSG_RELAY ||
	      type == NTM_MSG_COOKIE_REPLY || type == NTM_MSG_HS_REFUSE || type == NTM_MSG_RELAY_PROBE);
	fuzz_hs_init(data, size);
	fuzz_cookie_reply(data, size);
	fuzz_probe(data, size);
	fuzz_relay_probe(data, size);
	fuzz_hs_resp(data, size);
	fuzz_hs_refuse(data, size);
	fuzz_refuse_payload(data, size);
	fuzz_data(data, size);
	fuzz_relay(data, size);
	fuzz_ctl(data, size);
	fuzz_name(data, size);
	fuzz_fed(data, size);
	return 0;
}
