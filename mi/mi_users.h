/*
 * mi_users: the subscriber and trusted MI commands (subscriber.add,
 * .passwd, .rm, .show, .list, .reload; trusted.add, .rm;
 * permissions.trustedDump, .trustedReload), served by the master
 * through mi_daemon()->md_users.
 */
#ifndef SIPD_MI_USERS_H
#define SIPD_MI_USERS_H

/* Adds them to the command table. 0 or -errno of mi_cmd_register(). */
int	mi_users_register(void);

#endif
