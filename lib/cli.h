/* cli.h - what the command-line tools (ntmctl, ntm-dcctl, ntm-relayctl)
 * share: the command line "PROG [-X VALUE] COMMAND ARGS...", a table of
 * commands, one way to report usage errors, the same exit statuses, and the
 * calls that ask a daemon over its control socket.
 *
 * Exit statuses: 0 success, 1 an error described on stderr, 2 a usage error
 * (the usage on stderr). These functions print on stdout and stderr, as a
 * command-line tool's top does; they never call exit. */
#ifndef NTM_CLI_H
#define NTM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* One request/reply with the daemon at sock; on failure prints why on
 * stderr, prefixed with prog, and returns a negative value. */
ssize_t ntm_cli_call(const char *prog, const char *daemon, const char *sock, const void *req,
		     size_t len, uint8_t *reply, size_t cap);

/* The same with a deadline other than the default 2 s. */
ssize_t ntm_cli_call_timeout(const char *prog, const char *daemon, const char *sock,
			     const void *req, size_t len, uint8_t *reply, size_t cap, int timeout_ms);

/* Ask the daemon at sock for its counters and print them, one per line,
 * or as a JSON object. Returns the process exit status. */
int ntm_cli_stats(const char *prog, const char *daemon, const char *sock, bool json);

struct ntm_metrics_help;
/* The command "metrics": ask the daemon at sock for its counters and gauges
 * and print them in the Prometheus text format (lib/metrics.h), families
 * named PREFIX_NAME_total and PREFIX_NAME. help (n_help, may be NULL)
 * describes them. Returns the exit status, or -EINVAL for a usage error. */
int ntm_cli_metrics_cmd(const char *prog, const char *daemon, const char *sock,
			const char *prefix, const struct ntm_metrics_help *help, size_t n_help,
			int argc, char **argv);

/* Exit statuses. */
enum { NTM_CLI_OK = 0, NTM_CLI_FAIL = 1, NTM_CLI_USAGE = 2 };

/* One command. fn gets the tool's context and the words after the command's
 * name; it returns an exit status, or -EINVAL for a usage error, after
 * which "usage: PROG USAGE" is printed on stderr and the status is 2.
 * usage is the command's SYNOPSIS line without the program's name. */
struct ntm_cli_cmd {
	const char *name;
	int (*fn)(void *ctx, int argc, char **argv);
	const char *usage;
};

/* A tool: its name, its commands, and its one global option (-s SOCKET,
 * -c FILE), which must come first if given. */
struct ntm_cli {
	const char *prog;              /* "ntmctl": message prefix, usage */
	const struct ntm_cli_cmd *cmds;
	size_t n_cmds;
	const char *opt;               /* "-s" */
	const char *opt_synopsis;      /* "-s SOCKET" */
	const char *opt_help;          /* its description in the usage */
	const char *opt_value;         /* in: the default; out: the value given */
};

/* The start of every tool's main(): sets NTM_NSS_BYPASS (the tools' own
 * lookups never go through nss_ntm), takes the global option into
 * cli->opt_value and finds the command. Returns -1 with *cmd_at the index
 * of the command in argv to go on; else the exit status: 0 after -h or
 * --help (the usage on stdout), 2 when no command is given (the usage on
 * stderr). */
int ntm_cli_start(struct ntm_cli *cli, int argc, char **argv, int *cmd_at);

/* Run argv[0], a command of cli's table, with argv[1..]. Returns its exit
 * status; 2 for an unknown command ("PROG: unknown command 'X'" and the
 * usage on stderr) or a usage error. Names match whole: no prefixes. */
int ntm_cli_dispatch(const struct ntm_cli *cli, void *ctx, int argc, char **argv);

/* The command called name in cmds (n of them), or NULL; for commands with
 * subcommands of their own ("node add"). */
const struct ntm_cli_cmd *ntm_cli_find(const struct ntm_cli_cmd *cmds, size_t n,
				       const char *name);

/* The usage of cli: "usage: PROG [OPT] COMMAND", a line per command, the
 * global option. */
void ntm_cli_usage(const struct ntm_cli *cli, FILE *f);

/* For commands whose only argument is an optional --json: *json says
 * whether it was given. 0, or -EINVAL for anything else. */
int ntm_cli_json_arg(int argc, char **argv, bool *json);

/* The command "stats [--json]": ask the daemon at sock for its counters and
 * print them. Returns the exit status, or -EINVAL for a usage error. */
int ntm_cli_stats_cmd(const char *prog, const char *daemon, const char *sock, int argc,
		      char **argv);

/* The command "show-key": print the public key of the private key in
 * key_file. Returns the exit status, or -EINVAL for a usage error. */
int ntm_cli_show_key_cmd(const char *prog, const char *key_file, int argc, char **argv);

#endif
