/*
 * mictl_render: how mictl prints a result (mi/PROTOCOL.md §9), for one
 * decoded value: Kamailio sercmd's text layout (one item per line, a TAB
 * per nesting level) or jansson's indented JSON. Runs in mictl only.
 *
 * The functions take a depth so that mictl_stream.c can print a record
 * of a long result as if the whole result had been decoded and printed
 * in one go: the output is byte for byte the same either way.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mictl_render.h"

static void	mictl_render_members(const json_t *, int);
static void	mictl_render_elements(const json_t *, int);

void
mictl_indent(int depth)
{
	while (depth-- > 0)
		putchar('\t');
}

/*
 * A scalar as sercmd prints it: strings raw, integers as integers,
 * reals with %f (Kamailio's Q: 0.500000, -1.000000), null empty.
 */
void
mictl_scalar(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		fwrite(json_string_value(v), 1, json_string_length(v), stdout);
		break;
	case JSON_INTEGER:
		printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		printf("%f", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("true", stdout);
		break;
	case JSON_FALSE:
		fputs("false", stdout);
		break;
	default:
		break;
	}
}

bool
mictl_is_container(const json_t *v)
{
	return json_is_object(v) || json_is_array(v);
}

/* "Name: value", or "Name: {" ... "}" for objects and arrays. */
void
mictl_render_member(const char *name, const json_t *v, int depth)
{
	mictl_indent(depth);
	fputs(name, stdout);
	if (!mictl_is_container(v)) {
		fputs(": ", stdout);
		mictl_scalar(v);
		putchar('\n');
		return;
	}
	fputs(": {\n", stdout);
	if (json_is_object(v))
		mictl_render_members(v, depth + 1);
	else
		mictl_render_elements(v, depth + 1);
	mictl_indent(depth);
	fputs("}\n", stdout);
}

static void
mictl_render_members(const json_t *o, int depth)
{
	const char	*k;
	json_t		*v;

	json_object_foreach((json_t *)o, k, v)
		mictl_render_member(k, v, depth);
}

/*
 * An array element inside a struct: an object's members are spliced in
 * at this level, so [{"AoR":"a","Contacts":[..]},{"AoR":"b",..}] prints
 * as sercmd's struct with repeated names (AoR:, Contacts:, AoR:, ...).
 */
void
mictl_render_element(const json_t *v, int depth)
{
	if (json_is_object(v))
		mictl_render_members(v, depth);
	else if (json_is_array(v))
		mictl_render_elements(v, depth);
	else {
		mictl_indent(depth);
		mictl_scalar(v);
		putchar('\n');
	}
}

static void
mictl_render_elements(const json_t *a, int depth)
{
	size_t	 i;
	json_t	*v;

	json_array_foreach((json_t *)a, i, v)
		mictl_render_element(v, depth);
}

/* A row of a table such as core.ps: an object of scalars only. */
bool
mictl_is_row(const json_t *o)
{
	const char	*k;
	json_t		*v;

	if (!json_is_object(o) || json_object_size(o) == 0)
		return false;
	json_object_foreach((json_t *)o, k, v)
		if (mictl_is_container(v))
			return false;
	return true;
}

/* sercmd ps: "pid<TAB>desc" per process */
void
mictl_render_row(const json_t *o)
{
	const char	*k;
	json_t		*e;
	bool		 first = true;

	json_object_foreach((json_t *)o, k, e) {
		if (!first)
			putchar('\t');
		mictl_scalar(e);
		first = false;
	}
	putchar('\n');
}

/* Every element a row: the top array is a table. */
static bool
mictl_is_table(const json_t *a)
{
	json_t	*o;
	size_t	 i;

	if (json_array_size(a) == 0)
		return false;
	json_array_foreach((json_t *)a, i, o)
		if (!mictl_is_row(o))
			return false;
	return true;
}

/* An element of a top array that is not a table. */
void
mictl_render_top_element(const json_t *e)
{
	if (mictl_is_container(e))
		mictl_render_top(e);
	else {
		mictl_scalar(e);
		putchar('\n');
	}
}

void
mictl_render_top(const json_t *v)
{
	json_t	*e;
	size_t	 i;

	if (json_is_object(v)) {
		puts("{");
		mictl_render_members(v, 1);
		puts("}");
	} else if (json_is_array(v) && mictl_is_table(v)) {
		json_array_foreach((json_t *)v, i, e)
			mictl_render_row(e);
	} else if (json_is_array(v)) {
		json_array_foreach((json_t *)v, i, e)
			mictl_render_top_element(e);
	} else if (!json_is_null(v)) {
		mictl_scalar(v);
		putchar('\n');
	}
}

/*
 * jansson's JSON_INDENT(2) text of v as it appears depth levels inside
 * an enclosing value: jansson indents a nested line by two spaces per
 * level and escapes every LF inside strings, so the text of v alone,
 * with 2 * depth spaces after each LF, is the same bytes.
 */
int
mictl_render_json(const json_t *v, int depth)
{
	char	*text, *p, *nl;

	if ((text = json_dumps(v, JSON_INDENT(MICTL_JSON_INDENT) |
	    JSON_ENCODE_ANY)) == NULL)
		return -1;
	for (p = text; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		fwrite(p, 1, (size_t)(nl + 1 - p), stdout);
		printf("%*s", depth * MICTL_JSON_INDENT, "");
	}
	fputs(p, stdout);
	free(text);
	return 0;
}
