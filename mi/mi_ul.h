/*
 * mi_ul: the usrloc MI commands (ul.dump, ul.lookup, ul.rm,
 * ul.rm_contact, ul.add, ul.flush), served by the master.
 */
#ifndef SIPD_MI_UL_H
#define SIPD_MI_UL_H

/*
 * Adds the ul.* commands to the MI command table (mi_server_start()
 * does). The commands look the table up through mi_daemon()->md_loctab()
 * at each request; ul.flush calls md_flush(). 0 or -errno of
 * mi_cmd_register().
 */
int	mi_ul_register(void);

#endif
