/* keyfile.h - X25519 private key files: one line, the key in base64.
 *
 * A key file must be a regular file, not a symlink, owned by the caller's
 * effective uid (or root), and not readable or writable by group or others:
 * anything else is refused, so a leaked key is noticed rather than used. */
#ifndef NTM_KEYFILE_H
#define NTM_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

/* Read the private key from path. Errors: -ENOENT (missing), -EPERM (mode
 * allows group/other access; msg says which bits), -EINVAL (not one base64
 * key line), -EFTYPE-like -EBADF for a non-regular file. msg (may be NULL)
 * receives a human sentence naming the problem. */
int ntm_keyfile_read(const char *path, uint8_t priv[32], char *msg, size_t msglen);

/* Create path with a fresh key (mode 0600, written to a temporary file in
 * the same directory, fsync'ed and renamed, so a crash leaves either no file
 * or a whole one). -EEXIST when path exists. */
int ntm_keyfile_create(const char *path, uint8_t priv[32]);

/* Read path, or create it when it does not exist. *created is set to 1
 * when a new key was made. */
int ntm_keyfile_load_or_create(const char *path, uint8_t priv[32], int *created,
			       char *msg, size_t msglen);

/* mkdir -p of path's parent directory: intermediate directories get mode
 * 0755, the last one 0700 (it holds secrets). 0 or -errno. */
int ntm_mkdir_parent(const char *path);

#endif
