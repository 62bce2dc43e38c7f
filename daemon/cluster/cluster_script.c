/*
 * cluster_script: the one Lua script that changes an AoR in Redis, run
 * with EVALSHA by the workers (a REGISTER) and by the sync process (a
 * replay after an outage). Redis runs a script alone, so reading the
 * hash, checking and writing cannot interleave with another node's.
 *
 * KEYS[1] sipd:aor:{AOR}, KEYS[2] sipd:events.
 * ARGV: 1 aor, 2 node, 3 now, 4 Call-ID, 5 CSeq, 6 star (0/1),
 *       7 max contacts (0 = no limit), 8 grace s, 9 stream MAXLEN,
 *       10 mode ("reg", "replay" or "mi"), 11 since (replay),
 *       then per contact: URI, absolute expiry (0 = remove), JSON.
 * Steps: drop expired contacts; the CSeq rule (same Call-ID: a lower
 * CSeq is refused, the same one within 20 s is a retransmission that
 * changes nothing); the per-AoR limit (only when contacts are added);
 * apply; bump "version"; EXPIREAT the latest expiry + grace; XADD of
 * the AoR's new state (every contact it now holds, as in the hash), so
 * that the other nodes apply the event without reading the hash back.
 * Replay mode (cluster_replay()): the contacts are what this node holds;
 * each is kept unless Redis has a higher CSeq of the same Call-ID or,
 * for another Call-ID, a later change. The same CSeq is this node's own
 * REGISTER: a write that timed out may still have been run by Redis
 * later, with the expiry the phone was never told, and the replay
 * puts back what the phone was told. Contacts owned by this node,
 * changed before "since" and not listed, are removed.
 * MI mode (cluster_mi(), an operator's change): each listed contact is
 * set as given, or removed when its expiry is -1; the star removes all;
 * whoever owns them, no CSeq rule, no limit.
 * Returns {status, version}: status "ok", "cseq" or "too_many".
 */
#include "cluster.h"

const char cluster_script_lua[] =
"local key, stream = KEYS[1], KEYS[2]\n"
"local aor, node, now = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
"local callid, cseq = ARGV[4], tonumber(ARGV[5])\n"
"local star, maxc = ARGV[6] == '1', tonumber(ARGV[7])\n"
"local grace, maxlen = tonumber(ARGV[8]), ARGV[9]\n"
"local mode, since = ARGV[10], tonumber(ARGV[11])\n"
"local cur, raw, n = {}, {}, 0\n"
"local h = redis.call('HGETALL', key)\n"
"for i = 1, #h, 2 do\n"
"  if h[i] ~= 'version' then\n"
"    local ok, c = pcall(cjson.decode, h[i + 1])\n"
"    if not ok or type(c) ~= 'table' or\n"
"        (c.expires ~= 0 and c.expires <= now) then\n"
"      redis.call('HDEL', key, h[i])\n"
"    else\n"
"      cur[h[i]], raw[h[i]] = c, h[i + 1]\n"
"      n = n + 1\n"
"    end\n"
"  end\n"
"end\n"
"local set, del, ins, sexp = {}, {}, 0, {}\n"
"if star then\n"
"  for f in pairs(cur) do del[f] = true end\n"
"elseif mode == 'mi' then\n"
"  for i = 12, #ARGV, 3 do\n"
"    local f, exp = ARGV[i], tonumber(ARGV[i + 1])\n"
"    if exp < 0 then\n"
"      if cur[f] ~= nil then del[f] = true end\n"
"    else\n"
"      if cur[f] == nil then ins = ins + 1 end\n"
"      set[f], sexp[f] = ARGV[i + 2], exp\n"
"    end\n"
"  end\n"
"elseif mode == 'replay' then\n"
"  local mine = {}\n"
"  for i = 12, #ARGV, 3 do mine[ARGV[i]] = true end\n"
"  for f, c in pairs(cur) do\n"
"    if c.node == node and not mine[f] and (c.modified or 0) < since then\n"
"      del[f] = true\n"
"    end\n"
"  end\n"
"  for i = 12, #ARGV, 3 do\n"
"    local f, v = ARGV[i], ARGV[i + 2]\n"
"    local new, old = cjson.decode(v), cur[f]\n"
"    if old == nil or (old.callid == new.callid and old.cseq <= new.cseq)\n"
"        or (old.callid ~= new.callid and\n"
"        (old.modified or 0) < (new.modified or 0)) then\n"
"      set[f], sexp[f] = v, tonumber(ARGV[i + 1])\n"
"      if old == nil then ins = ins + 1 end\n"
"    end\n"
"  end\n"
"else\n"
"  for i = 12, #ARGV, 3 do\n"
"    local f, exp, v = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]\n"
"    local old, skip = cur[f], false\n"
"    if old ~= nil and old.callid == callid then\n"
"      if cseq < old.cseq then return {'cseq', 0} end\n"
"      if cseq == old.cseq then\n"
"        if (old.modified or 0) + 20 <= now then return {'cseq', 0} end\n"
"        skip = true\n"
"      end\n"
"    end\n"
"    if not skip then\n"
"      if exp == 0 then\n"
"        if old ~= nil then del[f] = true end\n"
"        set[f] = nil\n"
"      else\n"
"        if old == nil and set[f] == nil then ins = ins + 1 end\n"
"        set[f], sexp[f] = v, exp\n"
"        del[f] = nil\n"
"      end\n"
"    end\n"
"  end\n"
"end\n"
"local after = n + ins\n"
"for f in pairs(del) do after = after - 1 end\n"
"if mode ~= 'replay' and ins > 0 and maxc > 0 and after > maxc then\n"
"  return {'too_many', tonumber(redis.call('HGET', key, 'version') or 0)}\n"
"end\n"
"if next(set) == nil and next(del) == nil then\n"
"  return {'ok', tonumber(redis.call('HGET', key, 'version') or 0)}\n"
"end\n"
"for f in pairs(del) do redis.call('HDEL', key, f); cur[f] = nil end\n"
"for f, v in pairs(set) do redis.call('HSET', key, f, v) end\n"
"local version = redis.call('HINCRBY', key, 'version', 1)\n"
"local last = now\n"
"for f, c in pairs(cur) do\n"
"  if set[f] == nil and c.expires > last then last = c.expires end\n"
"end\n"
"for f in pairs(set) do\n"
"  if sexp[f] > last then last = sexp[f] end\n"
"end\n"
"redis.call('EXPIREAT', key, last + grace)\n"
"local ev = {'XADD', stream, 'MAXLEN', '~', maxlen, '*', 'aor', aor,\n"
"  'version', version, 'node', node, 'op', after > 0 and 'reg' or 'unreg',\n"
"  'contacts', 0}\n"
"local count_at = #ev\n"
"local m = count_at\n"
"for f, v in pairs(set) do\n"
"  ev[m + 1] = f\n"
"  ev[m + 2] = v\n"
"  m = m + 2\n"
"end\n"
"for f in pairs(cur) do\n"
"  if set[f] == nil then\n"
"    ev[m + 1] = f\n"
"    ev[m + 2] = raw[f]\n"
"    m = m + 2\n"
"  end\n"
"end\n"
"ev[count_at] = (m - count_at) / 2\n"
"redis.call(unpack(ev))\n"
"return {'ok', version}\n";
