/* roam.c - roaming and liveness decisions (roam.h), pure. */
#include "roam.h"
#include "udp.h"

int roam_open(struct ntm_session *s, uint8_t *buf, size_t len, uint64_t counter, size_t *ptlen,
	      bool *newest)
{
	uint64_t top = ntm_session_rx_top(s);

	*newest = false;
	int ret = ntm_session_open(s, buf, len, ptlen);
	if (ret < 0)
		return ret;
	*newest = counter >= top;
	return 0;
}

enum roam_verdict roam_decide(const struct roam_rx *rx)
{
	if (rx->via_relay)
		return ROAM_NONE;
	if (rx->from_ep)
		return ROAM_REFRESH;
	if (!rx->newest || (rx->worse_known && rx->upgrade_fresh))
		return ROAM_NONE;
	return ROAM_MOVE;
}

unsigned roam_liveness(const struct roam_live *l, uint64_t now)
{
	unsigned todo = 0;

	if (l->rx_unanswered_ms && now - l->rx_unanswered_ms >= PASSIVE_KEEPALIVE_MS)
		todo |= ROAM_DO_KEEPALIVE;
	if (l->tx_unanswered_ms && now - l->tx_unanswered_ms >= RX_SILENT_MS) {
		todo |= ROAM_DO_HANDSHAKE;
		if (l->direct && l->has_relay)
			todo |= ROAM_DO_RELAY;
	}
	if (l->verify_ms) {
		if (l->direct_rx_ms >= l->verify_ms) {
			todo |= ROAM_DO_VERIFIED;
		} else if (now - l->verify_ms >= PATH_VERIFY_MS) {
			todo |= ROAM_DO_VERIFIED;
			if (l->direct && l->has_relay)
				todo |= ROAM_DO_RELAY;
		}
	}
	return todo;
}

bool roam_no_gso_keep(bool no_gso, bool had_ep, const struct sockaddr *ep, int ep_fd,
		      const struct sockaddr *to, int to_fd)
{
	return no_gso && had_ep && ep_fd == to_fd && ntm_sockaddr_cmp(ep, to) == 0;
}
