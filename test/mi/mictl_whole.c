/*
 * mictl_whole: mictl's output as it was before mictl streamed, for
 * test_mi.py to compare with. Reads one MI reply line on stdin, decodes
 * it whole with jansson and prints the result with mictl_render (text,
 * or -j JSON) or the error line; exits as mictl does (0, 1, 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mictl_render.h"

int
main(int argc, char *argv[])
{
	json_error_t	 jerr;
	json_t		*rep, *err, *result;
	const char	*msg;
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 len;
	int		 json_out = argc > 1 && strcmp(argv[1], "-j") == 0;
	int		 status = 0;

	if ((len = getline(&line, &cap, stdin)) <= 0 || line[len - 1] != '\n')
		return 2;
	rep = json_loadb(line, (size_t)len - 1, JSON_ALLOW_NUL, &jerr);
	free(line);
	if (rep == NULL || !json_is_object(rep))
		return 2;
	if ((err = json_object_get(rep, "error")) != NULL) {
		msg = json_string_value(json_object_get(err, "message"));
		printf("error: %" JSON_INTEGER_FORMAT " - ",
		    json_integer_value(json_object_get(err, "code")));
		if (msg != NULL)
			fwrite(msg, 1, json_string_length(
			    json_object_get(err, "message")), stdout);
		putchar('\n');
		status = 1;
	} else if ((result = json_object_get(rep, "result")) == NULL)
		status = 2;
	else if (json_out) {
		json_dumpf(result, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
		putchar('\n');
	} else
		mictl_render_top(result);
	json_decref(rep);
	return status;
}
