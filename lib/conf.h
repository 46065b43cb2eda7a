/* conf.h - ntm's configuration files: an INI-style syntax and a typed schema.
 *
 * Syntax (one construct per line):
 *
 *	# comment               ; also a comment
 *	[Section]
 *	Key = Value
 *
 * - A comment is a line whose first non-blank character is '#' or ';'.
 *   There are no inline comments: in "Port = 1 # x" the value is "1 # x"
 *   (which the schema then rejects, quoting it). Values may therefore hold
 *   any character, including '=', '+', '/', '#' and ';' (base64 keys).
 * - Blanks (space, tab) around section names, keys and values are trimmed.
 *   A line may end in "\r\n". A UTF-8 byte order mark at the very start of
 *   the file is skipped.
 * - Section names and keys are 1..NTM_CONF_NAME_MAX-1 bytes of
 *   [A-Za-z0-9_.-] and are matched case-insensitively (ASCII only, as in
 *   WireGuard: "[node]" and "listenport" mean [Node] and ListenPort).
 *   Messages quote them as they were written in the file.
 * - A section may appear only once, a key only once per section, and every
 *   key must follow a section header. A value may be empty.
 * - The file must be valid UTF-8 (no overlong forms, surrogates or code
 *   points above U+10FFFF) with no NUL byte and no control character other
 *   than tab (and the '\r' of a CRLF line end).
 * - Bounds: NTM_CONF_MAX_FILE bytes, NTM_CONF_MAX_LINE bytes per line (not
 *   counting the line end), NTM_CONF_MAX_SECTIONS sections and
 *   NTM_CONF_MAX_ENTRIES keys.
 *
 * Errors come back in a struct ntm_conf_error; ntm_conf_error_format turns
 * one into the single line a daemon logs, e.g.
 *	tund.conf:7: expected 'Key = Value', got 'Foo'
 *	dcd.conf:6: Port: '70000' is not a number in 1..65535
 *	dcd.conf: missing required key 'Zone' in section [DC]
 * Quoted text from the file is cut to NTM_CONF_QUOTE_MAX bytes (at a UTF-8
 * boundary) with "..." appended.
 *
 * Nothing here logs. Every function is reentrant; a parsed struct ntm_conf
 * is immutable and may be read from several threads. */
#ifndef NTM_CONF_H
#define NTM_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define NTM_CONF_MAX_FILE (1024u * 1024u)
#define NTM_CONF_MAX_LINE 4096u
#define NTM_CONF_MAX_SECTIONS 64u
#define NTM_CONF_MAX_ENTRIES 1024u
#define NTM_CONF_NAME_MAX 64u    /* section and key names: < 64 bytes */
#define NTM_CONF_QUOTE_MAX 64u   /* bytes of file text quoted in a message */
#define NTM_CONF_KEY_LEN 32u     /* NTM_CONF_KEY values decode to this */

struct ntm_conf_error {
	char file[512];   /* the name given to the parser (may be cut short) */
	unsigned line;    /* 1-based; 0 when the error has no line */
	char msg[256];    /* without file and line, no trailing newline */
};

/* Writes "file:line: msg" (or "file: msg" when line is 0) into buf, always
 * NUL-terminated when size > 0. Returns the length snprintf would have
 * written, like snprintf. */
int ntm_conf_error_format(const struct ntm_conf_error *e, char *buf, size_t size);

/* Fills *e (file may be NULL: "-"). For callers that report their own
 * semantic errors (two keys that conflict, ...) in the same format. */
void ntm_conf_error_set(struct ntm_conf_error *e, const char *file, unsigned line,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Copies s into out for quoting in a message: at most NTM_CONF_QUOTE_MAX
 * bytes, cut at a UTF-8 character boundary, with "..." appended when cut.
 * Returns out. */
#define NTM_CONF_QUOTE_BUF (NTM_CONF_QUOTE_MAX + 4u)
char *ntm_conf_quote(char out[NTM_CONF_QUOTE_BUF], const char *s);

struct ntm_conf;

struct ntm_conf_entry {
	const char *section;   /* as written, without brackets */
	const char *key;       /* as written */
	const char *value;     /* trimmed, may be "" */
	unsigned line;
};

/* Parses len bytes at buf (need not be NUL-terminated; may hold NULs, which
 * are reported) as the contents of a file called name (used in messages
 * only). On success stores a new struct ntm_conf in *out and returns 0.
 * Returns -EINVAL for a syntax error, -EFBIG for input over
 * NTM_CONF_MAX_FILE, -E2BIG past the section or key limits, with *err
 * filled in for all three; -ENOMEM otherwise. *out is NULL on failure. */
int ntm_conf_parse_mem(const char *name, const void *buf, size_t len,
		       struct ntm_conf **out, struct ntm_conf_error *err);

/* Reads and parses the regular file at path (opened O_RDONLY|O_CLOEXEC|
 * O_NOCTTY|O_NONBLOCK, so a FIFO cannot block us before the type check).
 * Returns what ntm_conf_parse_mem returns, or the -errno of open/fstat/read
 * (message "cannot read: <strerror>"), or -EINVAL for a file that is not
 * regular ("not a regular file"). *err names path in every case. */
int ntm_conf_parse_file(const char *path, struct ntm_conf **out, struct ntm_conf_error *err);

/* Accepts NULL. */
void ntm_conf_free(struct ntm_conf *c);

/* The name given to the parser. */
const char *ntm_conf_name(const struct ntm_conf *c);

/* Entries in file order; ntm_conf_entry_at returns NULL for i >= count. */
size_t ntm_conf_count(const struct ntm_conf *c);
const struct ntm_conf_entry *ntm_conf_entry_at(const struct ntm_conf *c, size_t i);

/* Sections in file order, including empty ones; NULL for i out of range.
 * *line (when line is not NULL) receives the header's line number. */
size_t ntm_conf_section_count(const struct ntm_conf *c);
const char *ntm_conf_section_at(const struct ntm_conf *c, size_t i, unsigned *line);

/* The entry for section/key (case-insensitive), or NULL. */
const struct ntm_conf_entry *ntm_conf_get(const struct ntm_conf *c, const char *section,
					  const char *key);

/* ---- Typed schema -------------------------------------------------------
 *
 * A daemon describes what it accepts as a table of struct ntm_conf_spec and
 * calls ntm_conf_apply, which checks a parsed file against the table and
 * stores each value, converted, through spec->dest. Values are numeric and
 * locale-free: no name resolution, no signs, no blanks, no leading zeros.
 *
 *   type              accepted text                        dest points to
 *   NTM_CONF_STRING   any (non-empty) text < size bytes    char[size]
 *   NTM_CONF_UINT     decimal digits, min..max             uint64_t
 *   NTM_CONF_BOOL     yes/no true/false on/off 1/0 (any    bool
 *                     case)
 *   NTM_CONF_PORT     decimal 1..65535                     uint16_t (host order)
 *   NTM_CONF_ADDR     an IPv4 or IPv6 address              struct ntm_conf_addr
 *                                                          (plen 32 or 128)
 *   NTM_CONF_PREFIX   "a.b.c.d/len" or "v6/len", no host   struct ntm_conf_addr
 *                     bits set after len
 *   NTM_CONF_ENDPOINT "a.b.c.d:port" or "[v6]:port",       struct sockaddr_storage
 *                     port 1..65535 (no scope ids)         (sockaddr_in or _in6)
 *   NTM_CONF_KEY      standard base64 of exactly 32 bytes  uint8_t[32]
 *                     (44 chars, one '=', canonical)
 *
 * An empty value is an error for every type. */

enum ntm_conf_type {
	NTM_CONF_STRING = 1,
	NTM_CONF_UINT,
	NTM_CONF_BOOL,
	NTM_CONF_PORT,
	NTM_CONF_ADDR,
	NTM_CONF_PREFIX,
	NTM_CONF_ENDPOINT,
	NTM_CONF_KEY,
};

enum {
	NTM_CONF_REQUIRED = 1u << 0, /* missing -> error (def is ignored) */
	NTM_CONF_SECRET = 1u << 1,   /* never quote the value in a message */
};

struct ntm_conf_addr {
	sa_family_t family;     /* AF_INET or AF_INET6 */
	uint8_t plen;           /* prefix length; 32/128 for a plain address */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} u;
};

struct ntm_conf_spec {
	const char *section;
	const char *key;        /* as it should read in messages */
	enum ntm_conf_type type;
	unsigned flags;         /* NTM_CONF_REQUIRED, NTM_CONF_SECRET */
	void *dest;
	size_t size;            /* NTM_CONF_STRING: bytes at dest */
	uint64_t min, max;      /* NTM_CONF_UINT: inclusive range */
	const char *def;        /* default, as text in the file's syntax; NULL:
				   leave *dest untouched when the key is absent */
	bool *seen;             /* optional: set to whether the file had the key */
};

/* Checks c against the n specs and stores every value. Walks the file in
 * order, so the first error reported is the first one in the file:
 *   "unknown section [Foo]"                  (at the header's line)
 *   "unknown key 'Prot' in section [DC]"     (at the key's line)
 *   "Port: '70000' is not a number in 1..65535"
 *   "missing required key 'Zone' in section [DC]"  (line 0)
 * A default that does not parse is a bug in the table and is reported as
 * "default of [DC] Port: ..." (line 0).
 * Returns 0, or -EINVAL with *err filled in. On failure some destinations may
 * already be written: apply into a scratch copy and swap it in on success
 * (this is what a reload has to do anyway). */
int ntm_conf_apply(const struct ntm_conf *c, const struct ntm_conf_spec *spec, size_t n,
		   struct ntm_conf_error *err);

/* The single-value parsers ntm_conf_apply uses, for callers that take values
 * from elsewhere (command line, control socket). s is NUL-terminated.
 * Return 0 or -EINVAL; ntm_conf_parse_uint returns -ERANGE for a number
 * outside min..max (or above UINT64_MAX), ntm_conf_parse_prefix -EDOM for a
 * well-formed prefix with bits set after its length. */
/* Parse the file at path and apply spec to it. On success *out is the
 * parsed file (for the caller's own checks; free it with ntm_conf_free);
 * on error returns -errno with "file:line: message" in msg. */
int ntm_conf_load(const char *path, const struct ntm_conf_spec *spec, size_t n,
		  struct ntm_conf **out, char *msg, size_t msglen);

int ntm_conf_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int ntm_conf_parse_bool(const char *s, bool *out);
/* The daemons' `Offload = auto | off` (text, any case) of section in the
 * file path parsed as c: *on true for auto. On another word -EINVAL and
 * "path:line: Offload: ..." in msg. */
int ntm_conf_offload(const struct ntm_conf *c, const char *path, const char *section,
		     const char *text, bool *on, char *msg, size_t msglen);
int ntm_conf_parse_addr(const char *s, struct ntm_conf_addr *out);
int ntm_conf_parse_prefix(const char *s, struct ntm_conf_addr *out);
int ntm_conf_parse_endpoint(const char *s, struct sockaddr_storage *out);
int ntm_conf_parse_key(const char *s, uint8_t out[NTM_CONF_KEY_LEN]);

/* ASCII-only case-insensitive comparison (the locale never applies). */
bool ntm_conf_name_eq(const char *a, const char *b);

#endif
