# bash completion for ntmctl, ntm-dcctl and ntm-relayctl (installed once
# under each name, for bash-completion's loader).
#
# The commands, their subcommands and options are read from the program's
# own `--help` (lines "  PROG COMMAND [SUBCOMMAND] [--option ARG]...", and
# "| COMMAND ..." alternatives on one line), so a new command completes
# without touching this file. The global option's value, the files of
# ntm-dcctl backup/restore and policy show, and ntmctl dns's --resolv-conf, --backup and
# --nss-file complete as file names. Needs bash only, not bash-completion's
# helpers.

# Print "CMD SUB OPTIONS..." (SUB "-" when there is none) for each usage
# alternative in the help of the program run as "$@" (continuation lines,
# indented, belong to the line above).
_ntm_cli_usage()
{
	"$@" --help 2>/dev/null | awk -v p="${1##*/}" '
	function emit(s,   w, nw, k, t, cmd, sc, opts) {
		nw = split(s, w, /[ \t]+/)
		cmd = ""; sc = ""; opts = ""
		for (k = 1; k <= nw; k++) {
			if (w[k] == "")
				continue
			if (cmd == "")
				cmd = w[k]
			else if (sc == "" && opts == "" && w[k] ~ /^[a-z][a-z0-9-]*$/)
				sc = w[k]
			else {
				if (sc == "")
					sc = "-"
				t = w[k]
				while (match(t, /(^|[[|])-[-a-z0-9]+/)) {
					o = substr(t, RSTART, RLENGTH)
					sub(/^[[|]/, "", o)
					opts = opts " " o
					t = substr(t, RSTART + RLENGTH)
				}
			}
		}
		if (cmd != "")
			print cmd " " (sc == "" ? "-" : sc) opts
	}
	function flush(   n, segs, j) {
		n = split(buf, segs, / [|] /)
		for (j = 1; j <= n; j++)
			emit(segs[j])
		buf = ""
	}
	$1 == p { flush(); $1 = ""; buf = $0; next }
	buf != "" && /^[ \t]+\[/ { buf = buf " " $0; next }
	{ flush() }
	END { flush() }'
}

_ntm_cli()
{
	local prog=${1##*/} cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local gopt i=1 help cmd sub words
	local -a run=("$1")

	COMPREPLY=()
	case $prog in
	ntm-dcctl) gopt=-c ;;
	*) gopt=-s ;;
	esac
	# the global option and its value come first
	if [ "${COMP_WORDS[1]}" = "$gopt" ]; then
		if [ "$COMP_CWORD" -eq 2 ]; then
			COMPREPLY=($(compgen -f -- "$cur"))
			return
		fi
		run+=("$gopt" "${COMP_WORDS[2]}")
		i=3
	fi
	help=$(_ntm_cli_usage "${run[@]}")
	if [ "$COMP_CWORD" -eq "$i" ]; then
		words=$(echo "$help" | cut -d' ' -f1 | sort -u)
		[ "$i" -eq 1 ] && words="$words $gopt"
		COMPREPLY=($(compgen -W "$words --help --version" -- "$cur"))
		return
	fi
	cmd=${COMP_WORDS[i]}
	# options and arguments that name files
	if [[ $prev == --resolv-conf || $prev == --backup || $prev == --nss-file ]] ||
		{ [[ $cmd == backup || $cmd == restore ]] && [ "$COMP_CWORD" -eq $((i + 1)) ]; } ||
		{ [[ $cmd == policy && ${COMP_WORDS[i + 1]} == show ]] &&
			[ "$COMP_CWORD" -eq $((i + 2)) ]; }; then
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	if [ "$COMP_CWORD" -eq $((i + 1)) ] && [[ $cur != -* ]]; then
		words=$(echo "$help" | awk -v c="$cmd" '$1 == c && $2 != "-" { print $2 }' | sort -u)
		if [ -n "$words" ]; then
			COMPREPLY=($(compgen -W "$words" -- "$cur"))
			return
		fi
	fi
	sub=-
	[ "$COMP_CWORD" -gt $((i + 1)) ] && sub=${COMP_WORDS[i + 1]}
	words=$(echo "$help" | awk -v c="$cmd" -v s="$sub" \
		'$1 == c && ($2 == s || $2 == "-") { for (k = 3; k <= NF; k++) print $k }' | sort -u)
	[ -n "$words" ] && [[ $cur == -* || -z $cur ]] && COMPREPLY=($(compgen -W "$words" -- "$cur"))
}

complete -F _ntm_cli ntmctl ntm-dcctl ntm-relayctl
