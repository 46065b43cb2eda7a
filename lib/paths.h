/* paths.h - the installation directories, as configure substitutes them
 * (Makefile.am passes -DNTM_SYSCONFDIR=... etc.); the fallbacks are what
 * configure picks by default for ntm's daemons. */
#ifndef NTM_PATHS_H
#define NTM_PATHS_H

#ifndef NTM_SYSCONFDIR
#define NTM_SYSCONFDIR "/etc"
#endif
#ifndef NTM_LOCALSTATEDIR
#define NTM_LOCALSTATEDIR "/var"
#endif
#ifndef NTM_RUNSTATEDIR
#define NTM_RUNSTATEDIR "/run"
#endif

#endif
