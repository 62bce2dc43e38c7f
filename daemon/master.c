/* placeholder */
extern int sipd_placeholder_master;
