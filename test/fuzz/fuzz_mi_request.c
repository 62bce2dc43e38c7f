/*
 * fuzz_mi_request: libFuzzer target for the MI request parser: one line
 * (JSON-RPC 2.0, mi/PROTOCOL.md) to a command and its text arguments,
 * with a small command table of every argument shape. Any local client
 * that may open the socket controls this input. Built for libFuzzer with
 * -Dfuzzing=true, and replayed by fuzz_main.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "mi_cmd.h"
#include "mi_request.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_handler(struct mi_reply *r, int argc, char *const *argv)
{
	(void)r;
	(void)argc;
	(void)argv;
}

static const struct mi_cmd fuzz_cmds[] = {
	{ "core.version", "core.version - none", 0, 0, fuzz_handler },
	{ "ul.lookup", "ul.lookup AOR - one", 1, 1, fuzz_handler },
	{ "ul.add", "ul.add AOR CONTACT EXPIRES [Q] - some", 3, 9,
	    fuzz_handler },
	{ "test.any", "test.any ... - any", 0, MI_CMD_ANY_ARGS,
	    fuzz_handler },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 registered;
	struct mi_request	 q;

	if (!registered) {
		(void)mi_cmd_register(fuzz_cmds,
		    sizeof(fuzz_cmds) / sizeof(fuzz_cmds[0]));
		registered = 1;
	}
	(void)mi_request_parse((const char *)data, size, &q);
	mi_request_clear(&q);
	return 0;
}
