/*
 * runcfg: settings MI may change while sipd runs (cfg.set), in shm so
 * that the UDP workers, forked with the start-up struct conf, see the
 * new value at once: the PSTN gateway (pstn.gw_ip, gw_port, match_port)
 * the registrar's expires limits and NAT rule (registrar.*), the log
 * level and the nonce lifetime.
 *
 * The master is the only writer (at start-up, then on cfg.set); any
 * process reads. Reads never wait on the writer and never see a torn
 * value (see runcfg.c). Nothing here logs.
 */
#ifndef SIPD_RUNCFG_H
#define SIPD_RUNCFG_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The PSTN gateway as routing needs it (the pstn.* keys of SPEC §3). */
struct runcfg_gw {
	bool			 rg_set;	/* pstn.gw_ip is not "" */
	bool			 rg_match_port;	/* pstn.match_port */
	uint16_t		 rg_port;	/* pstn.gw_port, host order */
	/* gw_ip + gw_port, AF_INET or AF_INET6; zero when !rg_set. */
	struct sockaddr_storage	 rg_addr;
	char			 rg_ip[64];	/* no [], "" = unset */
};

/* The registrar.* keys cfg.set may change (SPEC §3). */
struct runcfg_reg {
	bool		 rr_set;	/* published at least once */
	int		 rr_nat_detect;	/* CONF_NAT_* */
	unsigned	 rr_min_expires;
	unsigned	 rr_default_expires;
	unsigned	 rr_max_expires;
};

/* log.level and auth.nonce_expire, as cfg.set may change them. */
struct runcfg_core {
	bool		 rc_set;	/* published at least once */
	int		 rc_log_level;	/* LOG_ERR..LOG_DEBUG */
	unsigned	 rc_nonce_expire;
};

/* Alignment of the carve: shm_size_add(acc, runcfg_shm_size(), this). */
#define RUNCFG_SHM_ALIGN	64

size_t	runcfg_shm_size(void);
/*
 * Master, before fork: carves the block; the gateway reads as unset
 * until runcfg_set_gw(). 0 or -errno of shm_carve().
 */
int	runcfg_create(void);
/* Master only: publishes a new gateway (a copy of *gw) to every process. */
void	runcfg_set_gw(const struct runcfg_gw *gw);
/*
 * Any process, on every use (e.g. each request routed to or checked
 * against the gateway): the current gateway into *ret. 0, or -ENXIO
 * when runcfg_create() was never called (*ret untouched).
 */
int	runcfg_gw(struct runcfg_gw *ret);
/* The same for the registrar's settings (-ENXIO: never published). */
void	runcfg_set_reg(const struct runcfg_reg *reg);
int	runcfg_reg(struct runcfg_reg *ret);
void	runcfg_set_core(const struct runcfg_core *core);
int	runcfg_core(struct runcfg_core *ret);

#endif
