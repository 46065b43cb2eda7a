/* worker.h - ntm-tund's packet threads ([Interface] Workers = N > 1).
 *
 * The main thread keeps queue 0 of ntm0 and the first socket of the port
 * (everything it did before); workers 1..N-1 each own one more queue
 * (IFF_MULTI_QUEUE) and one more socket on the same port (SO_REUSEPORT),
 * to which a classic BPF program steers DATA by receiver index mod N.
 * A worker seals and opens with the shared sessions the fast peer table
 * (fastpeer.h) names and hands the main thread, through a ring (lib/ring.h)
 * and an eventfd, whatever it cannot handle alone. */
#ifndef NTM_WORKER_H
#define NTM_WORKER_H

#include <stdbool.h>

struct tund;

#define TUND_WORKERS_AUTO_MAX 8

/* The configured count resolved (0: auto, the online CPUs up to
 * TUND_WORKERS_AUTO_MAX). */
unsigned workers_count(unsigned configured);

/* Open ntm0's queues and the port's sockets for t->nworkers; on a refusal
 * (no IFF_MULTI_QUEUE, no SO_REUSEPORT or BPF) log one line and fall back
 * to one worker: returns 0 then too. -errno for anything else. Sets
 * t->tun_fd and t->udp_fd (the main thread's). */
int workers_open(struct tund *t);
/* Start the threads (before the sandbox: its filter is synchronised to
 * them). 0 or -errno (logged). */
int workers_start(struct tund *t);
/* Stop and join the threads, close their descriptors, free the tables. */
void workers_stop(struct tund *t);

/* The main thread: peers or sessions changed, rebuild the table (at once). */
void workers_changed(struct tund *t);
/* The main thread, before each sweep: fold what workers recorded into
 * peers and counters (workers_changed after the sweep rebuilds the table
 * if anything differs and reclaims old tables). */
void workers_sync(struct tund *t);
/* Fold the workers' counters into t->stats (before a STATS reply). */
void workers_fold_stats(struct tund *t);

#endif
