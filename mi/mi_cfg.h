/*
 * mi_cfg: the config MI commands (cfg.get, cfg.set and the aliases
 * cfg.set_now_string, cfg.set_now_int), served by the master.
 */
#ifndef SIPD_MI_CFG_H
#define SIPD_MI_CFG_H

/*
 * Adds the cfg.* commands to the MI command table (mi_server_start()
 * does). cfg.get reads mi_daemon()->md_conf(); a successful cfg.set
 * changes it and calls md_conf_changed(). 0 or -errno of
 * mi_cmd_register().
 */
int	mi_cfg_register(void);

#endif
