/* placeholder until this module is written */
extern int sipd_placeholder_store_text;
