/* store_pg.c - the DC's registry in PostgreSQL (see store.h). */
#include <errno.h>

#include "store_int.h"

int ntm_store_pg_open(struct ntm_store **out, const char *conninfo,
		      const struct ntm_store_params *p, char *err, size_t errlen)
{
	(void)conninfo;
	(void)p;
	*out = NULL;
	store_set_err(err, errlen, "PostgreSQL registry: not built");
	return -EOPNOTSUPP;
}
