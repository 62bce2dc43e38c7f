/*
 * mictl_stream: prints an MI reply while it arrives, one record at a
 * time, in mictl's text or JSON layout (mi/PROTOCOL.md §9).
 */
#ifndef MICTL_STREAM_H
#define MICTL_STREAM_H

#include <stdbool.h>

#include "mictl_scan.h"

/* mictl_stream_reply() outcomes besides -1 (failed, see sc_err) */
#define MICTL_STREAM_RESULT	0	/* the result was printed */
#define MICTL_STREAM_ERROR	1	/* sipd answered an error, printed */

int	mictl_stream_reply(struct mictl_scan *sc, bool json_out);

#endif /* MICTL_STREAM_H */
