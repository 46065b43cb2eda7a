/* ntmctl_dns.h - `ntmctl dns`: point resolv.conf at ntm-resolverd, or
 * configure systemd-resolved's per-link split DNS (lib/resolvconf.h). */
#ifndef NTM_NTMCTL_DNS_H
#define NTM_NTMCTL_DNS_H

/* The usage lines, as ntmctl(8)'s SYNOPSIS gives them. */
#define NTMCTL_DNS_USAGE \
	"dns enable [--zone ZONE]... [--stub ADDR] [--resolved] [--link IFACE]\n" \
	"             [--nss-file PATH] [--resolv-conf PATH] [--backup PATH]\n" \
	"  ntmctl dns disable [--discard-backup] [--resolved] [--link IFACE]\n" \
	"             [--resolv-conf PATH] [--backup PATH]\n" \
	"  ntmctl dns status [--json] [--resolv-conf PATH] [--backup PATH]"

/* argv[0] is the verb (enable, disable, status). Returns the exit status,
 * or -EINVAL for a usage error (the caller prints NTMCTL_DNS_USAGE). */
int ntmctl_cmd_dns(int argc, char **argv);

#endif
