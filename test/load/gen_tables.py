#!/usr/bin/env python3
"""gen_tables.py: DB_TEXT tables and SIPp injection files for the load kit.

Writes, for N subscribers u00000..u{N-1} (password "pw" + user number):

  OUT/sipd/      version, subscriber, trusted, location in the Kamailio 3.0
                 layout (what sipd writes; sipd reads both layouts)
  OUT/kamailio/  the same users in the Kamailio 5.6 layout (what Debian's
                 kamailio 5.6 needs: 5.6 columns and version rows)
  OUT/users.csv  SIPp -inf file, SEQUENTIAL, one line per user:
                 user;password;contact-user;[authentication ...]
                 (SIPp 3.6 does not expand [fieldN] inside its
                 [authentication] keyword, so the whole keyword is a field)

With --bindings B, both location files get B bindings (B distinct AoRs
u00000.. with contact sip:uXXXXX@HOST:PORT), so start-up load, flush and
ul.dump can be measured on a large table without sending B REGISTERs.
The contact is what reg_auth.xml sends when SIPp runs with -p PORT, so a
later REGISTER from SIPp updates a loaded binding instead of adding one.

Subscribers and bindings are independent: B may exceed N (bindings whose
user is not a subscriber are still loaded; usrloc does not check).

Only the Python standard library is used. Example:
  python3 gen_tables.py --users 10000 --bindings 100000 --out /tmp/t
"""
import argparse
import hashlib
import os
import time

DOMAIN = "127.0.0.1"

SUB30 = ("id(int,auto) username(string) domain(string) password(string) "
         "email_address(string) ha1(string) ha1b(string) rpid(string,null)")
LOC30 = ("id(int,auto) username(string) domain(string,null) contact(string) "
         "received(string,null) path(string,null) expires(int) q(double) "
         "callid(string) cseq(int) last_modified(int) flags(int) cflags(int) "
         "user_agent(string) socket(string,null) methods(int,null)")
TRU30 = ("id(int,auto) src_ip(string) proto(string) "
         "from_pattern(string,null) tag(string,null)")

SUB56 = ("id(int,auto) username(string) domain(string) password(string) "
         "ha1(string) ha1b(string)")
LOC56 = ("id(int,auto) ruid(string) username(string) domain(string,null) "
         "contact(string) received(string,null) path(string,null) "
         "expires(int) q(double) callid(string) cseq(int) "
         "last_modified(int) flags(int) cflags(int) user_agent(string) "
         "socket(string,null) methods(int,null) instance(string,null) "
         "reg_id(int) server_id(int) connection_id(int) keepalive(int) "
         "partition(int)")
TRU56 = ("id(int,auto) src_ip(string) proto(string) "
         "from_pattern(string,null) ruri_pattern(string,null) "
         "tag(string,null) priority(int)")


def user(i):
    return "u%05d" % i


def password(i):
    return "pw%05d" % i


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def esc(s):
    """DB_TEXT string escape (kamailio-facts.md 1.1)."""
    return (s.replace("\\", "\\\\").replace(":", "\\:")
            .replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t"))


def write(path, header, rows):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(header + "\n")
        for r in rows:
            f.write(r)
            f.write("\n")
    os.rename(tmp, path)


def subscribers(n, layout):
    for i in range(n):
        u, p = user(i), password(i)
        ha1 = md5("%s:%s:%s" % (u, DOMAIN, p))
        ha1b = md5("%s@%s:%s:%s" % (u, DOMAIN, DOMAIN, p))
        if layout == "30":
            yield "%d:%s:%s:%s:%s@%s:%s:%s:" % (i + 1, u, DOMAIN, p, u,
                                                 DOMAIN, ha1, ha1b)
        else:
            yield "%d:%s:%s:%s:%s:%s" % (i + 1, u, DOMAIN, p, ha1, ha1b)


def bindings(n, layout, host, port, sock, expires, now):
    for i in range(n):
        u = user(i)
        contact = esc("sip:%s@%s:%d" % (u, host, port))
        callid = esc("gen-%d@load" % i)
        s = esc(sock)
        if layout == "30":
            yield "%d:%s::%s:::%d:-1.00:%s:1:%d:0:0:gen_tables:%s:" % (
                i + 1, u, contact, expires, callid, now, s)
        else:
            ruid = "uloc-gen-%x" % i
            yield ("%d:%s:%s::%s:::%d:-1.00:%s:1:%d:0:0:gen_tables:%s:::"
                   "0:0:0:0:0" % (i + 1, ruid, u, contact, expires, callid,
                                  now, s))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--bindings", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--contact-host", default="127.0.0.1")
    ap.add_argument("--contact-port", type=int, default=5999,
                    help="SIPp's -p port (default 5999)")
    ap.add_argument("--socket", default="",
                    help="socket column, e.g. udp:127.0.0.1:5060 "
                    "(default NULL)")
    ap.add_argument("--expires", type=int, default=86400,
                    help="seconds from now (default 86400)")
    ap.add_argument("--sipd-only", action="store_true",
                    help="only the 3.0 folder and the CSV")
    args = ap.parse_args()

    now = int(time.time())
    exp = now + args.expires
    layouts = [("sipd", "30")]
    if not args.sipd_only:
        layouts.append(("kamailio", "56"))
    for sub, lay in layouts:
        d = os.path.join(args.out, sub)
        os.makedirs(d, exist_ok=True)
        if lay == "30":
            write(os.path.join(d, "version"),
                  "table_name(string) table_version(int)",
                  ["location:1004", "subscriber:6", "trusted:5"])
            write(os.path.join(d, "subscriber"), SUB30,
                  subscribers(args.users, lay))
            write(os.path.join(d, "trusted"), TRU30, [])
            write(os.path.join(d, "location"), LOC30,
                  bindings(args.bindings, lay, args.contact_host,
                           args.contact_port, args.socket, exp, now))
        else:
            write(os.path.join(d, "version"),
                  "id(int,auto) table_name(string) table_version(int)",
                  ["0:version:1", "0:location:9", "0:subscriber:7",
                   "0:trusted:6"])
            write(os.path.join(d, "subscriber"), SUB56,
                  subscribers(args.users, lay))
            write(os.path.join(d, "trusted"), TRU56, [])
            write(os.path.join(d, "location"), LOC56,
                  bindings(args.bindings, lay, args.contact_host,
                           args.contact_port, args.socket, exp, now))
    with open(os.path.join(args.out, "users.csv"), "w") as f:
        f.write("SEQUENTIAL\n")
        for i in range(args.users):
            f.write("%s;%s;%s;[authentication username=%s password=%s]\n"
                    % (user(i), password(i), user(i), user(i), password(i)))


if __name__ == "__main__":
    main()
