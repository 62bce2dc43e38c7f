/* placeholder */
extern int sipd_placeholder_udp;
