/*
 * mictl_scan: reads one MI reply line from the socket a piece at a time
 * and cuts it into JSON values without holding the whole line: the
 * caller walks the outer containers token by token and has each inner
 * value (a record of ul.dump) decoded alone by jansson.
 */
#ifndef MICTL_SCAN_H
#define MICTL_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define MICTL_SCAN_BUF		65536
/* Largest single value decoded at once (a whole result not streamed). */
#define MICTL_SCAN_VALUE_MAX	((size_t)1 << 30)
/* mictl_scan_peek() at the LF that ends the reply line */
#define MICTL_SCAN_EOL		(-1)

/*
 * What mictl_scan_scalar() cut into sc_val. The first three print as
 * they are (their decoded value is their text, less a string's quotes);
 * anything else (escapes, non-ASCII, reals, huge numbers, garbage) is
 * handed to jansson with mictl_scan_decode().
 */
enum mictl_scan_kind {
	MICTL_SCAN_STRING,	/* "...": printable ASCII, no backslash */
	MICTL_SCAN_INTEGER,	/* -?(0|[1-9][0-9]*), up to 18 digits */
	MICTL_SCAN_WORD,	/* true, false, null */
	MICTL_SCAN_OTHER
};

struct mictl_scan {
	int	 sc_fd;
	char	 sc_in[MICTL_SCAN_BUF];
	size_t	 sc_pos;		/* next unread byte of sc_in */
	size_t	 sc_len;		/* bytes in sc_in */
	size_t	 sc_total;		/* bytes of the line received */
	bool	 sc_eol;		/* sc_in[sc_pos] is the final LF */
	char	*sc_val;		/* text of the value being cut */
	size_t	 sc_val_len;
	size_t	 sc_val_cap;
	char	*sc_key;		/* last member name, decoded, NUL */
	size_t	 sc_key_cap;
	char	 sc_err[256];		/* why the last call failed */
};

void	mictl_scan_init(struct mictl_scan *sc, int fd);
void	mictl_scan_clear(struct mictl_scan *sc);
int	mictl_scan_peek(struct mictl_scan *sc, int *ret_c);
int	mictl_scan_expect(struct mictl_scan *sc, int c);
int	mictl_scan_value(struct mictl_scan *sc, json_t **ret_v);
int	mictl_scan_scalar(struct mictl_scan *sc, enum mictl_scan_kind *ret_k);
int	mictl_scan_decode(struct mictl_scan *sc, json_t **ret_v);
int	mictl_scan_key(struct mictl_scan *sc, const char **ret_name);
int	mictl_scan_end(struct mictl_scan *sc);

#endif /* MICTL_SCAN_H */
