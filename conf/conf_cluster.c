/*
 * conf_cluster.c: parsing of the cluster.* keys (see conf_cluster.h).
 * Only the syntax is checked here; whether the Redis answers is the
 * daemon's business at run time (it must start when Redis is down).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf_cluster.h"

static int
conf_cluster_why(char *why, size_t len, const char *msg)
{
	snprintf(why, len, "%s", msg);
	return -1;
}

/* Decimal 0..max, digits only, n bytes at s. */
static int
conf_cluster_num(const char *s, size_t n, unsigned long max,
    unsigned long *ret)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max)
			return -1;
	}
	*ret = v;
	return 0;
}

/* "HOST:PORT" or "[IPv6]:PORT" in n bytes at s, port required. */
static int
conf_cluster_hostport(const char *s, size_t n, struct conf_cluster_host *h)
{
	const char	*colon = NULL;
	unsigned long	 port;
	size_t		 i, hl, skip = 0;

	for (i = n; i > 0; i--)
		if (s[i - 1] == ':') {
			colon = s + i - 1;
			break;
		}
	if (colon == NULL || colon == s)
		return -1;
	hl = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hl < 3 || s[hl - 1] != ']')
			return -1;
		skip = 1;
		hl -= 2;
	} else if (memchr(s, ':', hl) != NULL)
		return -1;	/* IPv6 without brackets */
	if (hl == 0 || hl >= sizeof(h->ch_host))
		return -1;
	for (i = 0; i < hl; i++)
		if (s[skip + i] <= ' ' || s[skip + i] == '/' ||
		    s[skip + i] == ',' || s[skip + i] == '@')
			return -1;
	if (conf_cluster_num(colon + 1, (size_t)(s + n - colon - 1), 65535,
	    &port) == -1 || port == 0)
		return -1;
	memcpy(h->ch_host, s + skip, hl);
	h->ch_host[hl] = '\0';
	h->ch_port = (uint16_t)port;
	return 0;
}

static bool
conf_cluster_name_ok(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n >= CONF_CLUSTER_NODE_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

static int
conf_cluster_redis_url(struct conf_cluster *t, const char *p, char *why,
    size_t len)
{
	const char	*slash = strchr(p, '/');
	unsigned long	 db = 0;
	size_t		 n = slash ? (size_t)(slash - p) : strlen(p);

	if (conf_cluster_hostport(p, n, &t->cu_hosts[0]) == -1)
		return conf_cluster_why(why, len,
		    "redis://HOST:PORT[/DB] expected");
	if (slash != NULL && conf_cluster_num(slash + 1, strlen(slash + 1),
	    15, &db) == -1)
		return conf_cluster_why(why, len, "DB must be 0..15");
	t->cu_kind = CONF_CLUSTER_REDIS;
	t->cu_nhosts = 1;
	t->cu_db = (unsigned)db;
	return 0;
}

static int
conf_cluster_sentinel_url(struct conf_cluster *t, const char *p,
    char *why, size_t len)
{
	const char	*slash = strchr(p, '/'), *q, *end;
	size_t		 n;

	if (slash == NULL || !conf_cluster_name_ok(slash + 1,
	    strlen(slash + 1)))
		return conf_cluster_why(why, len, "sentinel://HOST:PORT"
		    "[,HOST:PORT...]/MASTER expected (MASTER: letters, "
		    "digits, . - _)");
	for (q = p; q < slash; q = end + 1) {
		end = memchr(q, ',', (size_t)(slash - q));
		if (end == NULL)
			end = slash;
		n = (size_t)(end - q);
		if (t->cu_nhosts == CONF_CLUSTER_MAX_SENTINELS)
			return conf_cluster_why(why, len,
			    "more than 8 sentinels");
		if (conf_cluster_hostport(q, n,
		    &t->cu_hosts[t->cu_nhosts]) == -1)
			return conf_cluster_why(why, len, "a sentinel is not "
			    "HOST:PORT");
		t->cu_nhosts++;
		if (end == slash)
			break;
	}
	memcpy(t->cu_master, slash + 1, strlen(slash + 1) + 1);
	t->cu_kind = CONF_CLUSTER_SENTINEL;
	return 0;
}

/*
 * "[USER]:PASSWORD@" at the start of *p (Redis's requirepass, or an ACL
 * user) into t, *p moved past it. No '@' or '/' in either part.
 */
static int
conf_cluster_userinfo(struct conf_cluster *t, const char **p, char *why,
    size_t len)
{
	const char	*at = strchr(*p, '@'), *slash = strchr(*p, '/');
	const char	*colon;
	size_t		 ulen, plen;

	if (at == NULL || (slash != NULL && slash < at))
		return 0;
	if ((colon = memchr(*p, ':', (size_t)(at - *p))) == NULL)
		return conf_cluster_why(why, len, "[USER]:PASSWORD@ expected "
		    "before the host");
	ulen = (size_t)(colon - *p);
	plen = (size_t)(at - colon - 1);
	if (ulen >= sizeof(t->cu_user) || plen == 0 ||
	    plen >= sizeof(t->cu_password))
		return conf_cluster_why(why, len, "user or password empty or "
		    "too long");
	memcpy(t->cu_user, *p, ulen);
	t->cu_user[ulen] = '\0';
	memcpy(t->cu_password, colon + 1, plen);
	t->cu_password[plen] = '\0';
	*p = at + 1;
	return 0;
}

static int
conf_cluster_set_redis(struct conf_cluster *cu, const char *value,
    char *why, size_t len)
{
	struct conf_cluster	 t = *cu;
	const char		*body;
	int			 rc;

	memset(t.cu_hosts, 0, sizeof(t.cu_hosts));
	t.cu_user[0] = t.cu_password[0] = '\0';
	t.cu_nhosts = 0;
	t.cu_db = 0;
	t.cu_master[0] = '\0';
	t.cu_kind = CONF_CLUSTER_OFF;
	if (strlen(value) >= sizeof(t.cu_url))
		return conf_cluster_why(why, len, "too long");
	body = strstr(value, "://");
	if (body != NULL) {
		body += 3;
		if (conf_cluster_userinfo(&t, &body, why, len) == -1)
			return -1;
	}
	if (*value == '\0')
		rc = 0;
	else if (strncmp(value, "redis://", 8) == 0)
		rc = conf_cluster_redis_url(&t, body, why, len);
	else if (strncmp(value, "sentinel://", 11) == 0)
		rc = conf_cluster_sentinel_url(&t, body, why, len);
	else
		rc = conf_cluster_why(why, len, "redis://HOST:PORT[/DB] or "
		    "sentinel://HOST:PORT[,HOST:PORT...]/MASTER expected");
	if (rc == -1)
		return -1;
	/* as given, but never the password: it is logged and shown */
	if (t.cu_password[0] != '\0')
		snprintf(t.cu_url, sizeof(t.cu_url), "%.*s%s:***@%s",
		    (int)(strstr(value, "://") + 3 - value), value, t.cu_user,
		    strchr(value, '@') + 1);
	else
		snprintf(t.cu_url, sizeof(t.cu_url), "%s", value);
	*cu = t;
	return 0;
}

static int
conf_cluster_set_node_id(struct conf_cluster *cu, const char *value,
    char *why, size_t len)
{
	char	 host[256];

	if (*value == '\0') {
		/* The default: the host name, cut at its first dot. */
		if (gethostname(host, sizeof(host)) == -1)
			snprintf(host, sizeof(host), "sipd");
		host[sizeof(host) - 1] = '\0';
		host[strcspn(host, ".")] = '\0';
		if (!conf_cluster_name_ok(host, strlen(host)))
			snprintf(host, sizeof(host), "sipd");
		snprintf(cu->cu_node_id, sizeof(cu->cu_node_id), "%s", host);
		return 0;
	}
	if (!conf_cluster_name_ok(value, strlen(value)))
		return conf_cluster_why(why, len, "1..63 letters, digits, "
		    ". - _ expected");
	snprintf(cu->cu_node_id, sizeof(cu->cu_node_id), "%s", value);
	return 0;
}

static int
conf_cluster_set_unreachable(struct conf_cluster *cu, const char *value,
    char *why, size_t len)
{
	static const char *const names[] = { "short", "refuse" };
	int			 i;

	for (i = 0; i < 2; i++)
		if (strcasecmp(value, names[i]) == 0) {
			cu->cu_unreachable = i;
			snprintf(cu->cu_policy, sizeof(cu->cu_policy), "%s",
			    names[i]);
			return 0;
		}
	return conf_cluster_why(why, len, "must be short or refuse");
}

int
conf_cluster_set(struct conf_cluster *cu, const char *key,
    const char *value, char *why, size_t len)
{
	if (strcmp(key, "cluster.redis") == 0)
		return conf_cluster_set_redis(cu, value, why, len);
	if (strcmp(key, "cluster.node_id") == 0)
		return conf_cluster_set_node_id(cu, value, why, len);
	return conf_cluster_set_unreachable(cu, value, why, len);
}
