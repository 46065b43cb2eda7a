/* test_resolvconf.c - the resolv.conf parser, the loop guard, enable/disable
 * in a temporary directory, owner detection and the resolvectl argv. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "resolvconf.h"

/* ---- helpers ----------------------------------------------------------- */

static struct ntm_resolv rc;       /* ~30 KiB: keep it off the stack */
static struct ntm_resolv_error perr_;
static char tmpdir[64];
static char path[256], backup[256];
static char err[512];

static int parse(const char *text)
{
	return ntm_resolv_parse(text, strlen(text), &rc, &perr_);
}

static void assert_parse_error(const char *text, int ret, const char *expect)
{
	char buf[256];

	ck_assert_int_eq(parse(text), ret);
	ntm_resolv_error_format(&perr_, buf, sizeof(buf));
	ck_assert_str_eq(buf, expect);
}

static void tpath(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", tmpdir, name);

	ck_assert(n > 0 && (size_t)n < size);
}

static void put(const char *p, const char *content)
{
	FILE *f = fopen(p, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(content, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* The file's bytes (static buffer, NUL-terminated), or NULL if missing. */
static const char *get(const char *p)
{
	static char buf[70000];
	FILE *f = fopen(p, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static ino_t inode(const char *p)
{
	struct stat st;

	ck_assert_int_eq(lstat(p, &st), 0);
	return st.st_ino;
}

static size_t dir_entries(const char *d)
{
	DIR *dir = opendir(d);
	struct dirent *de;
	size_t n = 0;

	ck_assert_ptr_nonnull(dir);
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(dir);
	return n;
}

static void setup(void)
{
	strcpy(tmpdir, "/tmp/ntm-resolvconf-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	tpath(path, sizeof(path), "resolv.conf");
	tpath(backup, sizeof(backup), "resolv.conf.ntm-orig");
	err[0] = '\0';
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(p);
}

static void teardown(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char original[] =
	"# written by dhclient\n"
	"domain corp.example\n"
	"search corp.example lab.example\n"
	"nameserver 192.0.2.1\n"
	"nameserver 2001:db8::53\n"
	"options ndots:2 edns0\n";

/* ---- parser ------------------------------------------------------------ */

START_TEST(a_good_file_gives_servers_search_and_kept_lines)
{
	ck_assert_int_eq(parse(original), 0);
	ck_assert_uint_eq(rc.nns, 2);
	ck_assert_str_eq(rc.ns[0].text, "192.0.2.1");
	ck_assert_int_eq(rc.ns[0].family, AF_INET);
	ck_assert_str_eq(rc.ns[1].text, "2001:db8::53");
	ck_assert_int_eq(rc.ns[1].family, AF_INET6);
	ck_assert_uint_eq(rc.nsearch, 2);
	ck_assert_str_eq(rc.search[0], "corp.example");
	ck_assert_str_eq(rc.search[1], "lab.example");
	ck_assert_uint_eq(rc.nkept, 3);
	ck_assert_str_eq(rc.kept[0], "domain corp.example");
	ck_assert_str_eq(rc.kept[2], "options ndots:2 edns0");
	ck_assert_int_eq(rc.search_line, 1);
	ck_assert(!rc.ntm_marker);
}
END_TEST

START_TEST(comments_blank_lines_and_crlf_are_accepted)
{
	ck_assert_int_eq(parse("; semicolon\r\n\r\n   \t\n#x\nnameserver 192.0.2.9 # why\r\n"
			       "search a.example.   \n"), 0);
	ck_assert_uint_eq(rc.nns, 1);
	ck_assert_str_eq(rc.ns[0].text, "192.0.2.9");
	ck_assert_str_eq(rc.search[0], "a.example.");
	ck_assert_str_eq(rc.kept[0], "search a.example.");
	ck_assert_int_eq(parse(""), 0);
	ck_assert_int_eq(parse("  # indented comment\n\t; another\n"), 0);
	ck_assert_int_eq(parse("search .\n"), 0);   /* systemd-resolved writes this */
	ck_assert_int_eq(parse("sortlist 130.155.160.0/255.255.240.0\n"), 0);
	ck_assert_int_eq(parse(NTM_RESOLV_MARKER "; original saved in /x\n"), 0);
	ck_assert(rc.ntm_marker);
}
END_TEST

START_TEST(the_last_search_or_domain_line_wins)
{
	ck_assert_int_eq(parse("search a.example b.example\ndomain c.example\n"), 0);
	ck_assert_uint_eq(rc.nsearch, 1);
	ck_assert_str_eq(rc.search[0], "c.example");
	ck_assert_int_eq(rc.search_line, 1);
}
END_TEST

/* A name of the longest length, 253 characters, with its trailing dot is
 * stored whole (the buffer once had no room for the dot: the fuzzer found
 * the write past it); one character more is refused. */
START_TEST(a_253_character_search_domain_with_a_trailing_dot_is_kept_whole)
{
	char name[260], line[300];
	const char *l63 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

	snprintf(name, sizeof(name), "%s.%s.%s.%.61s.", l63, l63, l63, l63);
	ck_assert_uint_eq(strlen(name), 254);
	/* the buffer holds it with its NUL (a write past it is not seen here
	 * otherwise: it lands in the next search entry) */
	ck_assert_uint_gt(sizeof(rc.search[0]), strlen(name));
	snprintf(line, sizeof(line), "search %s\n", name);
	ck_assert_int_eq(parse(line), 0);
	ck_assert_uint_eq(rc.nsearch, 1);
	ck_assert_str_eq(rc.search[0], name);
	snprintf(line, sizeof(line), "search b%s\n", name);
	ck_assert_int_eq(parse(line), -EINVAL);
}
END_TEST

START_TEST(more_than_three_nameservers_are_parsed_but_three_used)
{
	struct ntm_resolv_ns up[8];

	ck_assert_int_eq(parse("nameserver 192.0.2.1\nnameserver 192.0.2.2\n"
			       "nameserver 192.0.2.3\nnameserver 192.0.2.4\nnameserver ::1\n"), 0);
	ck_assert_uint_eq(rc.nns, 5);
	ck_assert_int_eq(ntm_resolv_upstreams(&rc, NULL, 0, up, 8), 3);
	ck_assert_str_eq(up[2].text, "192.0.2.3");
}
END_TEST

START_TEST(nameservers_past_the_cap_are_refused)
{
	char text[2048] = "";

	for (int i = 0; i <= NTM_RESOLV_MAX_NS; i++)
		sprintf(text + strlen(text), "nameserver 192.0.2.%d\n", i + 1);
	assert_parse_error(text, -E2BIG, "line 17: more than 16 nameservers");
}
END_TEST

START_TEST(ipv6_scope_ids_are_kept_as_text)
{
	ck_assert_int_eq(parse("nameserver fe80::1%eth0\nnameserver fe80::2%3\n"), 0);
	ck_assert_str_eq(rc.ns[0].text, "fe80::1%eth0");
	ck_assert_str_eq(rc.ns[0].scope, "eth0");
	ck_assert_int_eq(rc.ns[0].family, AF_INET6);
	ck_assert_str_eq(rc.ns[1].scope, "3");
	assert_parse_error("nameserver 192.0.2.1%eth0\n", -EINVAL,
			   "line 1: '192.0.2.1%eth0' is not an IPv4 or IPv6 address");
	assert_parse_error("nameserver fe80::1%\n", -EINVAL,
			   "line 1: 'fe80::1%' is not an IPv4 or IPv6 address");
	assert_parse_error("nameserver fe80::1%a/b\n", -EINVAL,
			   "line 1: 'fe80::1%a/b' is not an IPv4 or IPv6 address");
	assert_parse_error("nameserver fe80::1%abcdefghijklmnop\n", -EINVAL,
			   "line 1: 'fe80::1%abcdefghijklmnop' is not an IPv4 or IPv6 address");
}
END_TEST

START_TEST(overlong_lines_and_files_are_refused)
{
	static char text[NTM_RESOLV_MAX_FILE + 2];

	memset(text, 0, sizeof(text));
	text[0] = '#';
	memset(text + 1, 'x', NTM_RESOLV_MAX_LINE - 1);   /* exactly 1024: fine */
	ck_assert_int_eq(parse(text), 0);
	text[NTM_RESOLV_MAX_LINE] = 'x';
	assert_parse_error(text, -EINVAL, "line 1: line longer than 1024 bytes");
	memset(text, '\n', NTM_RESOLV_MAX_FILE + 1);
	assert_parse_error(text, -EFBIG, "file is larger than 65536 bytes");
	text[NTM_RESOLV_MAX_FILE] = '\0';
	ck_assert_int_eq(parse(text), 0);
}
END_TEST

START_TEST(junk_lines_are_refused_with_the_reason)
{
	assert_parse_error("nameserver 192.0.2.1\nhello world\n", -EINVAL,
			   "line 2: unknown keyword 'hello'");
	assert_parse_error("lookup file bind\n", -EINVAL, "line 1: unknown keyword 'lookup'");
	assert_parse_error("nameserverx 192.0.2.1\n", -EINVAL,
			   "line 1: unknown keyword 'nameserverx'");
	assert_parse_error(" nameserver 192.0.2.1\n", -EINVAL,
			   "line 1: line starts with a blank (glibc ignores it)");
	assert_parse_error("nameserver\n", -EINVAL, "line 1: 'nameserver' without a value");
	assert_parse_error("search   \n", -EINVAL, "line 1: 'search' without a value");
	assert_parse_error("nameserver 1.2.3\n", -EINVAL,
			   "line 1: '1.2.3' is not an IPv4 or IPv6 address");
	assert_parse_error("nameserver 192.0.2.1 192.0.2.2\n", -EINVAL,
			   "line 1: trailing text '192.0.2.2' after nameserver address");
	assert_parse_error("search a..example\n", -EINVAL,
			   "line 1: 'a..example' is not a domain name");
	assert_parse_error("search a.exa$mple\n", -EINVAL,
			   "line 1: 'a.exa$mple' is not a domain name");
	assert_parse_error("domain a.example b.example\n", -EINVAL,
			   "line 1: trailing text 'b.example' after domain");
	assert_parse_error("# ok\nnameserver 192.0.2.1\x01\n", -EINVAL,
			   "line 2: control character 0x01");
	ck_assert_int_eq(ntm_resolv_parse("#\0x\n", 4, &rc, &perr_), -EINVAL);
	ck_assert_str_eq(perr_.msg, "NUL byte");
	assert_parse_error("nameserver 192.0.2.1\rx\n", -EINVAL, "line 1: control character 0x0d");
}
END_TEST

START_TEST(the_loop_guard_drops_our_own_listen_addresses)
{
	const char *listen[] = { "127.0.0.53", "::1" };
	struct ntm_resolv_ns up[4];

	ck_assert_int_eq(parse("nameserver 127.0.0.53\nnameserver 192.0.2.1\nnameserver ::1\n"
			       "nameserver 192.0.2.2\n"), 0);
	/* glibc used the first three; two of those are us. */
	ck_assert_int_eq(ntm_resolv_upstreams(&rc, listen, 2, up, 4), 1);
	ck_assert_str_eq(up[0].text, "192.0.2.1");
	ck_assert_int_eq(parse("nameserver 0.0.0.0\nnameserver 0:0::0\nnameserver 192.0.2.7\n"), 0);
	ck_assert_int_eq(ntm_resolv_upstreams(&rc, listen, 2, up, 4), 1);
	ck_assert_str_eq(up[0].text, "192.0.2.7");
	ck_assert_int_eq(parse("nameserver 0:0:0:0:0:0:0:1\n"), 0);   /* ::1 spelt out */
	ck_assert_int_eq(ntm_resolv_upstreams(&rc, listen, 2, up, 4), 0);
	listen[0] = "localhost";
	ck_assert_int_eq(ntm_resolv_upstreams(&rc, listen, 2, up, 4), -EINVAL);
}
END_TEST

START_TEST(read_file_names_the_path_in_errors)
{
	put(path, "nameserver 192.0.2.1\nbogus\n");
	ck_assert_int_eq(ntm_resolv_read_file(path, &rc, err, sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "resolv.conf:2: unknown keyword 'bogus'") != NULL);
	ck_assert_int_eq(ntm_resolv_read_file(backup, &rc, err, sizeof(err)), -ENOENT);
}
END_TEST

/* ---- enable / disable -------------------------------------------------- */

static void expect_generated(const char *body)
{
	char want[2048];

	snprintf(want, sizeof(want), "%s; original saved in %s\n%s", NTM_RESOLV_MARKER, backup,
		 body);
	ck_assert_str_eq(get(path), want);
}

START_TEST(enable_then_disable_restores_the_original_byte_for_byte)
{
	struct ntm_resolvconf_status st;

	put(path, original);
	chmod(path, 0640);
	ck_assert_int_eq(ntm_resolvconf_enable(path, backup, "127.0.0.53", NULL, err, sizeof(err)), 0);
	expect_generated("domain corp.example\nsearch corp.example lab.example\n"
			 "options ndots:2 edns0\nnameserver 127.0.0.53\n");
	ck_assert_str_eq(get(backup), original);
	ck_assert_int_eq(ntm_resolvconf_status(path, backup, &st), 0);
	ck_assert_int_eq(st.state, NTM_RESOLVCONF_ENABLED);
	ck_assert_int_eq(st.owner, NTM_RESOLVCONF_OWNER_NTM);
	ck_assert_int_eq(ntm_resolvconf_disable(path, backup, err, sizeof(err)), 0);
	ck_assert_str_eq(get(path), original);
	ck_assert(!exists(backup));
	{
		struct stat s;

		ck_assert_int_eq(stat(path, &s), 0);
		ck_assert_int_eq(s.st_mode & 07777, 0640);
	}
	ck_assert_uint_eq(dir_entries(tmpdir), 1);   /* no temporary files left */
	ck_assert_int_eq(ntm_resolvconf_disable(path, backup, err, sizeof(err)), 1);
	ck_assert_int_eq(ntm_resolvconf_status(path, backup, &st), 0);
	ck_assert_int_eq(st.state, NTM_RESOLVCONF_DISABLED);
	ck_assert_int_eq(st.owner, NTM_RESOLVCONF_OWNER_PLAIN);
}
END_TEST

START_TEST(enabling_twice_changes_nothing)
{
	ino_t ino;

	put(path, original);
	ck_assert_int_eq(ntm_resolvconf_enable(path, backup, "127.0.0.53", "ntm.example", err,
					       sizeof(err)), 0);
	ino = inode(path);
	ck_assert_int_eq(ntm_resolvconf_enable(path, backup, "127.0.0.53", "ntm.example", err,
					       sizeof(err)), 0);
	ck_assert(inode(path) == ino);   /* not even rewritten */
	ck_assert_str_eq(get(backup), original);
	/* A new stub address rewrites from the backup, which stays as it was. */
	ck_assert_int_eq(ntm_resolvconf_enable(path, backup, "::1", NULL, err, sizeof(err)), 0);
	expect_generated("domain corp.example\nsearch corp.example lab.example\n"
			 "options ndots:2 edns0\nnameserver ::1\n");
	ck_assert_str_eq(get(backup), original);
}
END_TEST

START_TEST(an_existing_backup_is_never_overwritten)
{
	put(path, original);
	put(backup, "nameserver 198.51.100.1\n");
	ck_assert_int_eq(ntm_resolvconf_enable(path, backup, "127.0.0.53", NULL, err, sizeof(err)),
			 -EEXIST);
	ck_assert(strstr(err, "does not carry the ntm marker") != NULL);
	ck_assert_str_eq(get(backup), "nameserver 198.51.100.1\n");
	ck_assert_str_eq(get(path), original);
}
END_TEST

START_TEST(disable_leaves_a_file_someone_else_rewrote_alone)
{
	static const char nm[] = "# Generated by NetworkManager\nnameserver 198.51.100.7\n";
	struct ntm_resolvconf_env env = { .path = path, .backup_path = backup };
	struct ntm_resolvconf_status st;

	put(path, original);
	ck_assert_int_eq(ntm_resolvconf_enable(path, backup, "127.0.0.53", NULL, err, sizeof(err)), 0);
	put(path, nm);
	ck_assert_int_eq(ntm_resolvconf_status(path, backup, &st), 0);
	ck_assert_int_eq(st.state, NTM_RESOLVCONF_OVERWRITTEN);
	ck_assert_int_eq(st.owner, NTM_RESOLVCONF_OWNER_NETWORKMANAGER);
	ck_assert_int_eq(ntm_resolvconf_disable(path, backup, err, sizeof(err)), -ESTALE);
	ck_assert(strstr(err, "was rewritten by NetworkManager since ntm enabled it; left it alone")
		  != NULL);
	ck_assert_str_eq(get(path), nm);
	ck_assert_str_eq(get(backup), original);
	/* enable refuses too, rather than saving NetworkManager's file over ours */
	ck_assert_int_eq(ntm_resolvconf_enable(path, backup, "127.0.0.53", NULL, err, sizeof(err)),
			 -EEXIST);
	env.flags = NTM_RESOLVCONF_DISCARD_STALE_BACKUP;
	ck_assert_int_eq(ntm_resolvconf_disable_env(&env, err, sizeof(err)), 0);
	ck_assert_str_eq(get(path), nm);
	ck_assert(!exists(backup));
}
END_TEST

START_TEST(a_marker_without_backup_is_reported_not_guessed)
{
	struct ntm_resolvconf_status st;

	put(path, NTM_RESOLV_MARKER "; original saved in /gone\nnameserver 127.0.0.53\n");
	ck_assert_int_eq(ntm_resolvconf_status(path, backup, &st), 0);
	ck_assert_int_eq(st.state, NTM_RESOLVCONF_BACKUP_LOST);
	ck_assert_str_eq(ntm_resolvconf_state_name(st.state), "backup-lost");
	ck_assert_int_eq(ntm_resolvconf_disable(path, backup, err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(ntm_resolvconf_enable(path, backup, "127.0.0.53", NULL, err, sizeof(err)),
			 -ENOENT);
	ck_assert(strstr(err, "is missing") != NULL);
}
END_TEST

START_TEST(enable_refuses_bad_input_without_touching_anything)
{
	ck_assert_int_eq(ntm_resolvconf_enable(path, backup, "127.0.0.53", NULL, err, sizeof(err)),
			 -ENOENT);
	ck_assert(strstr(err, "does not exist") != NULL);
	put(path, "nameserver 192.0.2.1\nwhat\n");
	ck_assert_int_eq(ntm_resolvconf_enable(path, backup, "127.0.0.53", NULL, err, sizeof(err)),
			 -EINVAL);
	ck_assert(strstr(err, "resolv.conf:2: unknown keyword 'what'") != NULL);
	ck_assert(!exists(backup));
	ck_assert_int_eq(ntm_resolvconf_enable(path, backup, "127.0.0.1:53", NULL, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "stub address '127.0.0.1:53' is not an IPv4 or IPv6 address");
	put(path, original);
	ck_assert_int_eq(ntm_resolvconf_enable(path, backup, "127.0.0.53", "bad zone", err,
					       sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "zone 'bad zone' is not a domain name");
	ck_assert_str_eq(get(path), original);
	ck_assert(!exists(backup));
}
END_TEST

/* ---- owner detection --------------------------------------------------- */

struct fake {
	char etc[256], resolved[256], rconf[256];
	const char *rd[2], *rcd[2];
	struct ntm_resolvconf_env env;
};

static void fake_tree(struct fake *f)
{
	char p[256];

	tpath(f->etc, sizeof(f->etc), "etc");
	tpath(f->resolved, sizeof(f->resolved), "run/systemd/resolve");
	tpath(f->rconf, sizeof(f->rconf), "run/resolvconf");
	tpath(p, sizeof(p), "run");
	ck_assert_int_eq(mkdir(p, 0755), 0);
	tpath(p, sizeof(p), "run/systemd");
	ck_assert_int_eq(mkdir(p, 0755), 0);
	ck_assert_int_eq(mkdir(f->resolved, 0755), 0);
	ck_assert_int_eq(mkdir(f->rconf, 0755), 0);
	ck_assert_int_eq(mkdir(f->etc, 0755), 0);
	tpath(path, sizeof(path), "etc/resolv.conf");
	f->rd[0] = f->resolved;
	f->rcd[0] = f->rconf;
	f->env = (struct ntm_resolvconf_env){ .path = path, .backup_path = backup,
					      .resolved_dirs = f->rd, .resolvconf_dirs = f->rcd };
}

static enum ntm_resolvconf_owner owner_of(const struct fake *f)
{
	enum ntm_resolvconf_owner o;

	ck_assert_int_eq(ntm_resolvconf_detect_owner(&f->env, &o), 0);
	return o;
}

START_TEST(owners_are_told_apart)
{
	struct fake f = { 0 };
	char p[256];

	fake_tree(&f);
	ck_assert_int_eq(owner_of(&f), NTM_RESOLVCONF_OWNER_NONE);
	/* dangling, relative, as on a host where resolved is stopped */
	ck_assert_int_eq(symlink("../run/systemd/resolve/stub-resolv.conf", path), 0);
	ck_assert_int_eq(owner_of(&f), NTM_RESOLVCONF_OWNER_RESOLVED);
	tpath(p, sizeof(p), "run/systemd/resolve/stub-resolv.conf");
	put(p, "nameserver 127.0.0.53\nsearch .\n");
	ck_assert_int_eq(owner_of(&f), NTM_RESOLVCONF_OWNER_RESOLVED);
	ck_assert_str_eq(ntm_resolvconf_owner_name(owner_of(&f)), "systemd-resolved");
	ck_assert_int_eq(ntm_resolvconf_enable_env(&f.env, "127.0.0.2", NULL, err, sizeof(err)),
			 -EBUSY);
	ck_assert(strstr(err, "managed by systemd-resolved; use the resolvectl") != NULL);
	ck_assert(!exists(backup));
	unlink(path);

	tpath(p, sizeof(p), "run/resolvconf/resolv.conf");
	put(p, "nameserver 192.0.2.1\n");
	ck_assert_int_eq(symlink(p, path), 0);
	ck_assert_int_eq(owner_of(&f), NTM_RESOLVCONF_OWNER_RESOLVCONF);
	unlink(path);

	put(path, "# Generated by NetworkManager\nnameserver 192.0.2.1\n");
	ck_assert_int_eq(owner_of(&f), NTM_RESOLVCONF_OWNER_NETWORKMANAGER);
	put(path, "nameserver 192.0.2.1\n");
	ck_assert_int_eq(owner_of(&f), NTM_RESOLVCONF_OWNER_PLAIN);
	ck_assert_str_eq(ntm_resolvconf_owner_name(owner_of(&f)), "plain file");
	put(path, NTM_RESOLV_MARKER "; original saved in x\n");
	ck_assert_int_eq(owner_of(&f), NTM_RESOLVCONF_OWNER_NTM);
	/* a symlink elsewhere is judged by content */
	unlink(path);
	tpath(p, sizeof(p), "etc/other");
	put(p, "nameserver 192.0.2.1\n");
	ck_assert_int_eq(symlink("./../etc//other", path), 0);
	ck_assert_int_eq(owner_of(&f), NTM_RESOLVCONF_OWNER_PLAIN);
}
END_TEST

START_TEST(a_resolvconf_symlink_is_saved_and_restored_as_a_symlink)
{
	struct fake f = { 0 };
	char target[256], link[256];
	ssize_t n;

	fake_tree(&f);
	tpath(target, sizeof(target), "run/resolvconf/resolv.conf");
	put(target, "nameserver 192.0.2.1\nsearch lan.example\n");
	ck_assert_int_eq(symlink("../run/resolvconf/resolv.conf", path), 0);
	ck_assert_int_eq(ntm_resolvconf_enable_env(&f.env, "127.0.0.53", NULL, err, sizeof(err)), 0);
	expect_generated("search lan.example\nnameserver 127.0.0.53\n");
	/* the backup follows the live file, so upstream changes are seen */
	ck_assert_int_eq(ntm_resolv_read_file(backup, &rc, err, sizeof(err)), 0);
	ck_assert_str_eq(rc.ns[0].text, "192.0.2.1");
	ck_assert_int_eq(ntm_resolvconf_disable_env(&f.env, err, sizeof(err)), 0);
	n = readlink(path, link, sizeof(link) - 1);
	ck_assert_int_gt(n, 0);
	link[n] = '\0';
	ck_assert_str_eq(link, target);
	ck_assert_int_eq(owner_of(&f), NTM_RESOLVCONF_OWNER_RESOLVCONF);
	ck_assert(!exists(backup));
}
END_TEST

START_TEST(a_bind_mounted_file_is_rewritten_in_place)
{
	struct ntm_resolvconf_env env = { .path = path, .backup_path = backup,
					  .flags = NTM_RESOLVCONF_TEST_RENAME_EXDEV };
	ino_t ino;

	put(path, original);
	ino = inode(path);
	ck_assert_int_eq(ntm_resolvconf_enable_env(&env, "127.0.0.53", NULL, err, sizeof(err)), 0);
	ck_assert(inode(path) == ino);
	expect_generated("domain corp.example\nsearch corp.example lab.example\n"
			 "options ndots:2 edns0\nnameserver 127.0.0.53\n");
	ck_assert_uint_eq(dir_entries(tmpdir), 2);   /* file + backup, no temporaries */
	ck_assert_int_eq(ntm_resolvconf_disable_env(&env, err, sizeof(err)), 0);
	ck_assert(inode(path) == ino);
	ck_assert_str_eq(get(path), original);       /* shorter again: truncated */
	ck_assert_uint_eq(dir_entries(tmpdir), 1);
}
END_TEST

/* The real thing, when we may: a file bind-mounted over path (as Docker
 * does) cannot be renamed over (EBUSY), so enable and disable write in place.
 * Runs in a child in a private mount namespace; skipped unless root. */
static int bind_mount_child(const char *src)
{
	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		return 77;
	if (mount(src, path, "none", MS_BIND, NULL) < 0)
		return 77;
	if (ntm_resolvconf_enable(path, backup, "127.0.0.53", NULL, err, sizeof(err)) != 0)
		return 1;
	if (!strstr(get(src), "nameserver 127.0.0.53\n"))
		return 2;   /* written through the mount, into the mounted file */
	if (ntm_resolvconf_disable(path, backup, err, sizeof(err)) != 0)
		return 3;
	if (strcmp(get(src), original))
		return 4;
	return 0;
}

START_TEST(a_real_bind_mount_is_rewritten_in_place)
{
	char src[256];
	int status;
	pid_t pid;

	if (geteuid() != 0)
		return;
	tpath(src, sizeof(src), "mounted");
	put(src, original);
	put(path, "placeholder\n");
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(bind_mount_child(src));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		return;   /* no mount namespaces here */
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_str_eq(get(path), "placeholder\n");   /* outside the namespace: untouched */
	ck_assert(!exists(backup));
}
END_TEST

/* ---- the overlay zone in search ---------------------------------------- */

static int enable_zone(const char *orig, const char *zone)
{
	unlink(backup);
	put(path, orig);
	return ntm_resolvconf_enable(path, backup, "127.0.0.53", zone, err, sizeof(err));
}

START_TEST(the_zone_joins_the_effective_search_line)
{
	ck_assert_int_eq(enable_zone(original, "ntm.example"), 0);
	expect_generated("domain corp.example\nsearch corp.example lab.example ntm.example\n"
			 "options ndots:2 edns0\nnameserver 127.0.0.53\n");
	ck_assert_int_eq(enable_zone("search a.example\ndomain d.example\n", "ntm.example"), 0);
	expect_generated("search a.example\nsearch d.example ntm.example\nnameserver 127.0.0.53\n");
	ck_assert_int_eq(enable_zone("nameserver 192.0.2.1\n", "ntm.example"), 0);
	expect_generated("search ntm.example\nnameserver 127.0.0.53\n");
	ck_assert_int_eq(enable_zone("search .\n", "ntm.example"), 0);
	expect_generated("search ntm.example\nnameserver 127.0.0.53\n");
	ck_assert_int_eq(enable_zone("search NTM.example.\n", "ntm.example"), 0);
	expect_generated("search NTM.example.\nnameserver 127.0.0.53\n");
}
END_TEST

START_TEST(the_zone_is_refused_past_six_domains_or_256_bytes)
{
	char longlist[512] = "search";

	ck_assert_int_eq(enable_zone("search a.x b.x c.x d.x e.x\n", "ntm.example"), 0);
	ck_assert_int_eq(enable_zone("search a.x b.x c.x d.x e.x f.x\n", "ntm.example"), -ENOSPC);
	ck_assert(strstr(err, "7 domains") != NULL);
	ck_assert_str_eq(get(path), "search a.x b.x c.x d.x e.x f.x\n");
	ck_assert(!exists(backup));
	/* 4 x 61 + 4 = 248 bytes; + "ntm.example" (12) = 260 > 256 */
	for (int i = 0; i < 4; i++) {
		strcat(longlist, " ");
		memset(longlist + strlen(longlist), 'a' + i, 61);
	}
	strcat(longlist, "\n");
	ck_assert_int_eq(enable_zone(longlist, "ntm.example"), -ENOSPC);
	ck_assert(strstr(err, "260 bytes") != NULL);
	ck_assert_int_eq(enable_zone(longlist, "n.x"), 0);   /* 248 + 4 = 252 */
}
END_TEST

/* ---- resolvectl --------------------------------------------------------- */

static void assert_argv(const struct ntm_resolvectl_cmd *cmd, const char *const *want)
{
	int i;

	for (i = 0; want[i]; i++)
		ck_assert_str_eq(cmd->argv[i], want[i]);
	ck_assert_int_eq(cmd->argc, i);
	ck_assert_ptr_null(cmd->argv[i]);
}

START_TEST(resolvectl_argv_is_built_and_checked)
{
	static struct ntm_resolvectl_cmd cmd;
	const char *servers[] = { "100.64.0.1", "fd00::1" };
	const char *zones[] = { "ntm.example", "64.100.in-addr.arpa" };
	const char *bad[] = { "x y" };

	ck_assert_int_eq(ntm_resolvectl_dns(&cmd, "ntm0", servers, 2), 0);
	assert_argv(&cmd, (const char *[]){ "resolvectl", "dns", "ntm0", "100.64.0.1", "fd00::1",
					    NULL });
	ck_assert_int_eq(ntm_resolvectl_domain(&cmd, "ntm0", zones, 2), 0);
	assert_argv(&cmd, (const char *[]){ "resolvectl", "domain", "ntm0", "~ntm.example",
					    "~64.100.in-addr.arpa", NULL });
	ck_assert_int_eq(ntm_resolvectl_default_route(&cmd, "ntm0", false), 0);
	assert_argv(&cmd, (const char *[]){ "resolvectl", "default-route", "ntm0", "false", NULL });
	ck_assert_int_eq(ntm_resolvectl_revert(&cmd, "ntm0"), 0);
	assert_argv(&cmd, (const char *[]){ "resolvectl", "revert", "ntm0", NULL });
	ck_assert_int_eq(ntm_resolvectl_revert(&cmd, "../x"), -EINVAL);
	ck_assert_int_eq(ntm_resolvectl_revert(&cmd, "abcdefghijklmnop"), -EINVAL);
	ck_assert_int_eq(ntm_resolvectl_revert(&cmd, ""), -EINVAL);
	ck_assert_int_eq(ntm_resolvectl_dns(&cmd, "ntm0", bad, 1), -EINVAL);
	ck_assert_int_eq(ntm_resolvectl_dns(&cmd, "ntm0", servers, 0), -EINVAL);
	ck_assert_int_eq(ntm_resolvectl_domain(&cmd, "ntm0", bad, 1), -EINVAL);
}
END_TEST

START_TEST(resolvectl_argv_past_its_capacity_is_refused)
{
	static struct ntm_resolvectl_cmd cmd;
	const char *zones[NTM_RESOLVECTL_MAX_ARGS];

	for (size_t i = 0; i < NTM_RESOLVECTL_MAX_ARGS; i++)
		zones[i] = "ntm.example";
	ck_assert_int_eq(ntm_resolvectl_domain(&cmd, "ntm0", zones, NTM_RESOLVECTL_MAX_ARGS - 3), 0);
	ck_assert_int_eq(ntm_resolvectl_domain(&cmd, "ntm0", zones, NTM_RESOLVECTL_MAX_ARGS - 2),
			 -E2BIG);
}
END_TEST

static Suite *resolvconf_suite(void)
{
	Suite *s = suite_create("resolvconf");
	TCase *parser = tcase_create("parser");
	TCase *files = tcase_create("files");

	tcase_add_checked_fixture(parser, setup, teardown);
	tcase_add_test(parser, a_good_file_gives_servers_search_and_kept_lines);
	tcase_add_test(parser, comments_blank_lines_and_crlf_are_accepted);
	tcase_add_test(parser, the_last_search_or_domain_line_wins);
	tcase_add_test(parser, a_253_character_search_domain_with_a_trailing_dot_is_kept_whole);
	tcase_add_test(parser, more_than_three_nameservers_are_parsed_but_three_used);
	tcase_add_test(parser, nameservers_past_the_cap_are_refused);
	tcase_add_test(parser, ipv6_scope_ids_are_kept_as_text);
	tcase_add_test(parser, overlong_lines_and_files_are_refused);
	tcase_add_test(parser, junk_lines_are_refused_with_the_reason);
	tcase_add_test(parser, the_loop_guard_drops_our_own_listen_addresses);
	tcase_add_test(parser, read_file_names_the_path_in_errors);
	tcase_add_test(parser, resolvectl_argv_is_built_and_checked);
	tcase_add_test(parser, resolvectl_argv_past_its_capacity_is_refused);
	suite_add_tcase(s, parser);

	tcase_add_checked_fixture(files, setup, teardown);
	tcase_add_test(files, enable_then_disable_restores_the_original_byte_for_byte);
	tcase_add_test(files, enabling_twice_changes_nothing);
	tcase_add_test(files, an_existing_backup_is_never_overwritten);
	tcase_add_test(files, disable_leaves_a_file_someone_else_rewrote_alone);
	tcase_add_test(files, a_marker_without_backup_is_reported_not_guessed);
	tcase_add_test(files, enable_refuses_bad_input_without_touching_anything);
	tcase_add_test(files, owners_are_told_apart);
	tcase_add_test(files, a_resolvconf_symlink_is_saved_and_restored_as_a_symlink);
	tcase_add_test(files, a_bind_mounted_file_is_rewritten_in_place);
	tcase_add_test(files, a_real_bind_mount_is_rewritten_in_place);
	tcase_add_test(files, the_zone_joins_the_effective_search_line);
	tcase_add_test(files, the_zone_is_refused_past_six_domains_or_256_bytes);
	suite_add_tcase(s, files);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(resolvconf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
