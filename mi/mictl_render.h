/*
 * mictl_render: prints one decoded JSON value (jansson) the way mictl
 * shows results: sercmd's layout or indented JSON (mi/PROTOCOL.md §9).
 * mictl_stream.c calls these on one record at a time; a whole result
 * printed at once goes through mictl_render_top() / mictl_render_json().
 */
#ifndef MICTL_RENDER_H
#define MICTL_RENDER_H

#include <stdbool.h>

#include <jansson.h>

/* Indented JSON (jansson JSON_INDENT(2)) as if nested depth levels in. */
#define MICTL_JSON_INDENT	2

void	mictl_indent(int depth);
void	mictl_scalar(const json_t *v);
bool	mictl_is_container(const json_t *v);
void	mictl_render_member(const char *name, const json_t *v, int depth);
void	mictl_render_element(const json_t *v, int depth);
bool	mictl_is_row(const json_t *v);
void	mictl_render_row(const json_t *o);
void	mictl_render_top_element(const json_t *v);
void	mictl_render_top(const json_t *v);
int	mictl_render_json(const json_t *v, int depth);

#endif /* MICTL_RENDER_H */
