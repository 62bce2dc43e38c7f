/*
 * test_cluster_codec.c: unit tests for daemon/cluster/cluster_codec.c,
 * one contact of an AoR hash as the JSON text Redis holds. The text
 * exactly as sipd writes it is matched in one pass; anything else
 * (escapes, reals, spaces, other orders) is read by jansson: both must
 * give the same contact.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cluster.h"

static struct cluster_contact	 in, out;
static char			 text[8192];

static void
fill(struct cluster_contact *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->cc_callid, sizeof(c->cc_callid), "a84b4c76e66710@pc33");
	snprintf(c->cc_ua, sizeof(c->cc_ua), "Grandstream GXP1625 1.0.4.128");
	snprintf(c->cc_received, sizeof(c->cc_received),
	    "sip:192.0.2.7:40123");
	snprintf(c->cc_path, sizeof(c->cc_path), "<sip:edge.example;lr>");
	snprintf(c->cc_socket, sizeof(c->cc_socket), "udp:127.0.0.1:5060");
	snprintf(c->cc_node, sizeof(c->cc_node), "sip-a");
	c->cc_expires = 1796313943;
	c->cc_modified = 1796313883;
	c->cc_q = -1;
	c->cc_cseq = 4294967295u;
	c->cc_flags = 2;
	c->cc_cflags = 64;
	c->cc_methods = 0xffffffffu;
}

static void
assert_same(const struct cluster_contact *a, const struct cluster_contact *b)
{
	assert_string_equal(a->cc_callid, b->cc_callid);
	assert_string_equal(a->cc_ua, b->cc_ua);
	assert_string_equal(a->cc_received, b->cc_received);
	assert_string_equal(a->cc_path, b->cc_path);
	assert_string_equal(a->cc_socket, b->cc_socket);
	assert_string_equal(a->cc_node, b->cc_node);
	assert_int_equal(a->cc_expires, b->cc_expires);
	assert_int_equal(a->cc_modified, b->cc_modified);
	assert_int_equal(a->cc_q, b->cc_q);
	assert_int_equal(a->cc_cseq, b->cc_cseq);
	assert_int_equal(a->cc_flags, b->cc_flags);
	assert_int_equal(a->cc_cflags, b->cc_cflags);
	assert_int_equal(a->cc_methods, b->cc_methods);
}

static void
roundtrip(void)
{
	int	 n;

	n = cluster_encode(&in, text, sizeof(text));
	assert_true(n > 0);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(cluster_decode(text, (size_t)n, &out), 0);
	assert_same(&in, &out);
}

static void
test_plain_roundtrip(void **state)
{
	(void)state;
	fill(&in);
	roundtrip();
	/* every field, in order, compact: what jansson wrote for it too */
	assert_string_equal(text, "{\"expires\":1796313943,\"q\":-1,"
	    "\"callid\":\"a84b4c76e66710@pc33\",\"cseq\":4294967295,"
	    "\"ua\":\"Grandstream GXP1625 1.0.4.128\","
	    "\"received\":\"sip:192.0.2.7:40123\","
	    "\"path\":\"<sip:edge.example;lr>\","
	    "\"socket\":\"udp:127.0.0.1:5060\",\"node\":\"sip-a\","
	    "\"flags\":2,\"cflags\":64,\"methods\":4294967295,"
	    "\"modified\":1796313883}");
	/* too small a buffer, either way */
	assert_int_equal(cluster_encode(&in, text, 40), -ENOSPC);
	assert_int_equal(cluster_encode(&in, text, strlen(
	    "{\"expires\":1796313943}")), -ENOSPC);
}

static void
test_own_shape_is_matched_without_jansson(void **state)
{
	char	*ua;

	(void)state;
	fill(&in);
	assert_true(cluster_encode(&in, text, sizeof(text)) > 0);
	/* a byte jansson refuses (not UTF-8): read only by the match */
	ua = strstr(text, "GXP1625");
	assert_non_null(ua);
	ua[0] = (char)0xff;
	assert_int_equal(cluster_decode(text, strlen(text), &out), 0);
	assert_int_equal((unsigned char)out.cc_ua[12], 0xff);
	assert_int_equal(out.cc_methods, 0xffffffffu);
	/* the same text with a space: jansson's, which refuses it */
	memmove(text + 2, text + 1, strlen(text));
	text[1] = ' ';
	assert_int_equal(cluster_decode(text, strlen(text), &out), -EBADMSG);
}

static void
test_escapes_roundtrip(void **state)
{
	(void)state;
	fill(&in);
	snprintf(in.cc_callid, sizeof(in.cc_callid), "say \"hi\"@pc33");
	snprintf(in.cc_ua, sizeof(in.cc_ua), "C:\\phones\\\xc3\xa9t\xc3\xa9");
	snprintf(in.cc_path, sizeof(in.cc_path), "<sip:a;lr>,\t<sip:b;lr>");
	roundtrip();
	assert_non_null(strchr(text, '\\'));
	/* an escape in the last string only: the others were copied */
	fill(&in);
	snprintf(in.cc_node, sizeof(in.cc_node), "n\"1");
	roundtrip();
	/* not UTF-8: refused, not written half-escaped */
	in.cc_ua[3] = (char)0xff;
	assert_int_equal(cluster_encode(&in, text, sizeof(text)), -EINVAL);
}

static void
test_long_strings_truncated_alike(void **state)
{
	char	 ua[LOCTAB_UA_MAX + 40];

	(void)state;
	memset(ua, 'u', sizeof(ua) - 1);
	ua[sizeof(ua) - 1] = '\0';
	/* written by hand: sipd never writes more than it can read */
	snprintf(text, sizeof(text), "{\"ua\":\"%s\",\"cseq\":7}", ua);
	assert_int_equal(cluster_decode(text, strlen(text), &out), 0);
	assert_int_equal(strlen(out.cc_ua), LOCTAB_UA_MAX);
	assert_int_equal(out.cc_cseq, 7);
	snprintf(text, sizeof(text), "{\"ua\":\"\\\"%s\",\"cseq\":7}", ua);
	assert_int_equal(cluster_decode(text, strlen(text), &out), 0);
	assert_int_equal(strlen(out.cc_ua), LOCTAB_UA_MAX);
	assert_int_equal(out.cc_ua[0], '"');
}

static void
test_other_writers(void **state)
{
	(void)state;
	/* spaces, another key order, keys missing: zero or empty */
	snprintf(text, sizeof(text), "{ \"node\" : \"b\", \"expires\" : 17 }");
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(cluster_decode(text, strlen(text), &out), 0);
	assert_string_equal(out.cc_node, "b");
	assert_int_equal(out.cc_expires, 17);
	assert_string_equal(out.cc_callid, "");
	assert_int_equal(out.cc_cseq, 0);
	/* a real (as Lua's cjson may print a number), an unknown nested key */
	snprintf(text, sizeof(text), "{\"expires\":1.796313943e+09,"
	    "\"x\":{\"y\":[1,2]},\"cseq\":3,\"callid\":\"c\"}");
	assert_int_equal(cluster_decode(text, strlen(text), &out), 0);
	assert_int_equal(out.cc_expires, 1796313943);
	assert_int_equal(out.cc_cseq, 3);
	assert_string_equal(out.cc_callid, "c");
	/* a value of the wrong kind reads as empty or zero, both ways */
	snprintf(text, sizeof(text), "{\"callid\":5,\"cseq\":\"5\"}");
	assert_int_equal(cluster_decode(text, strlen(text), &out), 0);
	assert_string_equal(out.cc_callid, "");
	assert_int_equal(out.cc_cseq, 0);
	snprintf(text, sizeof(text), "{\"callid\":true,\"cseq\":null}");
	assert_int_equal(cluster_decode(text, strlen(text), &out), 0);
	assert_string_equal(out.cc_callid, "");
	assert_int_equal(out.cc_cseq, 0);
}

static void
test_not_a_contact(void **state)
{
	static const char	*bad[] = { "", "{", "[1,2]", "\"s\"", "17",
	    "{\"a\":}", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":1}x",
	    /* a tokenizer alone (jsmn) takes these */
	    "{,\"a\":1}", "{\"a\":1,,\"b\":2}", "{\"a\"::1}",
	    "{\"a\":1}{\"b\":2}", "{\"a\":1 \"b\":2}" };
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cluster_decode(bad[i], strlen(bad[i]), &out),
		    -EBADMSG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_roundtrip),
		cmocka_unit_test(test_own_shape_is_matched_without_jansson),
		cmocka_unit_test(test_escapes_roundtrip),
		cmocka_unit_test(test_long_strings_truncated_alike),
		cmocka_unit_test(test_other_writers),
		cmocka_unit_test(test_not_a_contact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
