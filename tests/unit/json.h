/* json.h - a minimal, strict JSON reader for the test suites' vector files.
 * Test-only code: it is not linked into any program. The whole document is
 * parsed into a tree; strings are unescaped (\uXXXX to UTF-8). */
#ifndef NTM_TEST_JSON_H
#define NTM_TEST_JSON_H

#include <stddef.h>
#include <stdint.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_type type;
	double num;              /* JSON_NUMBER; JSON_BOOL: 0 or 1 */
	char *str;               /* JSON_STRING, NUL-terminated */
	size_t n;                /* JSON_ARRAY / JSON_OBJECT: number of children */
	struct json **items;     /* children */
	char **keys;             /* JSON_OBJECT: key of each child */
};

/* Parse a file; NULL on any error (message on stderr naming the file and offset). */
struct json *json_load_file(const char *path);
void json_free(struct json *j);

/* Object member by key, or NULL. */
const struct json *json_get(const struct json *obj, const char *key);
/* String member by key, or NULL when absent or not a string. */
const char *json_get_str(const struct json *obj, const char *key);

/* Decode a hex string into a fresh malloc'd buffer; *len gets its length.
 * Returns NULL on odd length or a non-hex character. "" gives a non-NULL
 * buffer of length 0. */
uint8_t *json_hex(const char *hex, size_t *len);

/* Path to a vector file: $NTM_VECTORS_DIR/name, or the compiled-in default. */
const char *json_vector_path(const char *name, char *buf, size_t buflen);

#endif
