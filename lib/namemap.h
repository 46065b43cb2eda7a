/* namemap.h - the names map: ntm-tund's live peers (full name, virtual
 * IPv4 and IPv6 address, expiry) in a file that every process's nss_ntm
 * maps read-only and reads without a lock or a system call. The format,
 * the seqlock and why a reader never takes a torn entry for a valid one:
 * doc/namemap.md. Pure (memory in, memory out) and libc only: the NSS
 * module compiles it in; ntm-tund's tund/namemap.c owns the file.
 *
 * One writer (ntm-tund's event loop), any number of readers in other
 * processes. Readers trust nothing in the file: ntm_namemap_attach checks
 * the header against the mapping's real size, and every later access
 * is bounded by the geometry checked there (never re-read from the file). */
#ifndef NTM_NAMEMAP_H
#define NTM_NAMEMAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NTM_NAMEMAP_MAGIC UINT64_C(0x3170614d656d614e) /* "NameMap1", little endian */
#define NTM_NAMEMAP_VERSION 1
#define NTM_NAMEMAP_FILE "names.map"    /* beside the nss file */
#define NTM_NAMEMAP_SLOTS 4096          /* entries; a power of two */
#define NTM_NAMEMAP_SLOTS_MAX 65536     /* what a reader accepts */
#define NTM_NAMEMAP_PROBE 8             /* slots looked at per key, never more */
#define NTM_NAMEMAP_NAME_SIZE 256       /* 253 bytes and the NUL, padded */
/* An entry's expiry is the writer's CLOCK_MONOTONIC + TTL, renewed on
 * each sweep (every 250 ms) while the tunnel lives: a map whose daemon
 * stopped, hung or died goes stale by itself within TTL. */
#define NTM_NAMEMAP_TTL_MS 1000
/* A reader whose clock (another time namespace) lags the writer's would
 * see entries live for longer: expiries further than this ahead of the
 * reader's now are refused. */
#define NTM_NAMEMAP_HORIZON_MS (2 * NTM_NAMEMAP_TTL_MS)

enum { NTM_NAMEMAP_LIVE = 1, NTM_NAMEMAP_CLOSED = 2 };

/* The first 256 bytes of the file. Written once before the file gets its
 * name (rename), except state, which the writer (or its successor) sets to
 * CLOSED when the file stops being kept up to date. */
struct ntm_namemap_hdr {
	uint64_t magic;
	uint32_t version, hdr_size;     /* sizeof(struct ntm_namemap_hdr) */
	uint32_t entry_size, slots;     /* sizeof(struct ntm_namemap_entry); a power of two */
	uint32_t probe, answer_ttl;     /* slots per key; the TTL lookups report (s) */
	uint64_t file_size;             /* the whole file */
	uint64_t seed;                  /* of the hash, random per file */
	_Atomic uint64_t state;         /* NTM_NAMEMAP_LIVE or _CLOSED */
	uint64_t reserved[25];
};

/* One slot: 38 words, each read and written as one atomic access. */
#define NTM_NAMEMAP_W_SEQ 0             /* even: stable; odd: being written */
#define NTM_NAMEMAP_W_EXPIRES 1         /* CLOCK_MONOTONIC ms */
#define NTM_NAMEMAP_W_META 2            /* name length | has4 << 16 | has6 << 17 | hash << 32 */
#define NTM_NAMEMAP_W_V4 3              /* 4 bytes, then zeros */
#define NTM_NAMEMAP_W_V6 4              /* 2 words */
#define NTM_NAMEMAP_W_NAME 6            /* NAME_SIZE / 8 words */
#define NTM_NAMEMAP_WORDS (NTM_NAMEMAP_W_NAME + NTM_NAMEMAP_NAME_SIZE / 8)
struct ntm_namemap_entry {
	_Atomic uint64_t w[NTM_NAMEMAP_WORDS];
};

/* After the header: slots entries, then two indexes by address (slots
 * 32-bit words each, IPv4 then IPv6): 0 empty, else entry number + 1. */
size_t ntm_namemap_file_size(uint32_t slots);

/* A name and its addresses, as read from or written to the map. */
struct ntm_namemap_rec {
	char name[NTM_NAMEMAP_NAME_SIZE];   /* lower case, no trailing dot, NUL-terminated */
	size_t name_len;
	bool has4, has6;
	uint8_t v4[4], v6[16];
	uint64_t expires_ms;                /* lookups: the entry's expiry (the writer's
					     * CLOCK_MONOTONIC ms); put ignores it */
};

/* A checked view of a map in memory (the reader's, or the writer's own). */
struct ntm_namemap {
	uint8_t *base;                  /* the writer's; NULL for a reader */
	const uint8_t *rbase;
	size_t size;
	uint32_t slots, probe, answer_ttl;
	uint64_t seed;
};

/* Checks a map of len bytes at base (header, sizes, geometry) and fills *m.
 * 0, or -EINVAL (wrong magic, version, sizes, or a length that does not
 * match the header: garbage or a cut-off file). Reads the header once. */
int ntm_namemap_attach(struct ntm_namemap *m, const void *base, size_t len);

/* Whether the writer still keeps the map (state LIVE). */
bool ntm_namemap_live(const struct ntm_namemap *m);

/* Results of the lookups. */
enum ntm_namemap_res {
	NTM_NAMEMAP_HIT = 0,
	NTM_NAMEMAP_MISS = 1,           /* not there, or not in the probe window */
	NTM_NAMEMAP_STALE = 2,          /* there, but expired (or the map closed) */
	NTM_NAMEMAP_TORN = 3,           /* changed while read: ask again or fall back */
};

/* A name (len bytes, any case, no trailing dot). now_ms: the reader's
 * CLOCK_MONOTONIC in ms. HIT fills *out, with expires_ms: the entry lives
 * expires_ms - now_ms more (> 0, at most NTM_NAMEMAP_HORIZON_MS). */
enum ntm_namemap_res ntm_namemap_find_name(const struct ntm_namemap *m, const char *name,
					   size_t len, uint64_t now_ms,
					   struct ntm_namemap_rec *out);
/* An address (family 4 or 6; 4 or 16 bytes). */
enum ntm_namemap_res ntm_namemap_find_addr(const struct ntm_namemap *m, int family,
					   const uint8_t *addr, uint64_t now_ms,
					   struct ntm_namemap_rec *out);

/* ---- the writer (one per map) ---- */

/* Lays out an empty map of ntm_namemap_file_size(slots) zeroed bytes at
 * base (state LIVE) and fills *m. slots: a power of two. */
void ntm_namemap_format(struct ntm_namemap *m, void *base, uint32_t slots, uint64_t seed,
			uint32_t answer_ttl);

/* Publishes r (name lower case already) until expires_ms: in place when
 * the name is there (only the expiry word changes when nothing else did),
 * else in a free slot of its window. Returns the slot, or -ENOSPC (the
 * window is full: the name stays unpublished and lookups ask the daemon)
 * or -EINVAL (a name that does not fit). */
int ntm_namemap_put(struct ntm_namemap *m, const struct ntm_namemap_rec *r, uint64_t expires_ms);

/* Removes slot's entry (and its index words). */
void ntm_namemap_del(struct ntm_namemap *m, uint32_t slot);

/* Whether slot holds an entry (the writer reading its own map). */
bool ntm_namemap_used(const struct ntm_namemap *m, uint32_t slot);

/* Marks the map CLOSED: readers stop answering from it at once. */
void ntm_namemap_close(struct ntm_namemap *m);

/* The readers' file side (namemap_file.c). */

/* The map's path beside nss_file (NSS_DIR/names.map) into out. 0, -EINVAL
 * (nss_file has no directory) or -ENAMETOOLONG. */
int ntm_namemap_path(const char *nss_file, char *out, size_t outlen);

/* The directory of path (absolute) exists and is not writable by group or
 * others: nobody but its owner can put another file under the name (the
 * names map's and the nss file's). 0, -EPERM, or stat's -errno. */
int ntm_namemap_dir_ok(const char *path);

/* Maps the file at path read-only into *m: path absolute, its directory
 * not writable by group or others, the file regular, not writable by
 * them, not a symlink, of a size between the header's and the largest
 * map's, and a header ntm_namemap_attach accepts against that size. 0
 * with *dev and *ino the file's, or -errno (-EPERM, -EINVAL, open's) with
 * nothing mapped and *m zeroed. */
int ntm_namemap_map(const char *path, struct ntm_namemap *m, dev_t *dev, ino_t *ino);

/* Unmaps what ntm_namemap_map mapped (nothing when *m is zeroed); zeroes *m. */
void ntm_namemap_unmap(struct ntm_namemap *m);

#endif
