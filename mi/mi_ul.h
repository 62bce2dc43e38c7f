/*
 * mi_ul: the usrloc MI commands (ul.dump, ul.lookup, ul.rm,
 * ul.rm_contact, ul.add, ul.flush), served by the master.
 */
#ifndef SIPD_MI_UL_H
#define SIPD_MI_UL_H

/*
 * Adds the ul.* commands to the MI command table. Master only, once,
 * after the location table exists (tables_load()); the commands look
 * the table up through tables_loctab() at each request. 0 or -errno
 * of mi_cmd_register().
 */
int	mi_ul_register(void);

#endif
