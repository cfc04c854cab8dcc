#!/usr/bin/env python3
"""Generates the golden vectors in this directory: buckets.json and evaluations.json.

The expected results are written out by hand below, from the semantics in the design
(clause semantics, evaluation order, bucketing); where an expectation depends on a
bucket it is computed with the independent murmur3 implementation in this file, never
with the engine. The vectors are the contract between engine versions: add cases,
but never change an existing expectation without a deliberate semantics change.

    python3 tests/vectors/generate.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


# ----------------------------------------------------------------- murmur3 x86 32
def mm3(data, seed=0):
    c1,c2=0xcc9e2d51,0x1b873593
    h=seed; n=len(data); r=n//4*4
    for i in range(0,r,4):
        k=int.from_bytes(data[i:i+4],'little')
        k=(k*c1)&0xffffffff; k=((k<<15)|(k>>17))&0xffffffff; k=(k*c2)&0xffffffff
        h^=k; h=((h<<13)|(h>>19))&0xffffffff; h=(h*5+0xe6546b64)&0xffffffff
    t=data[r:]; k=0
    for i,b in enumerate(t): k|=b<<(8*i)
    if t:
        k=(k*c1)&0xffffffff; k=((k<<15)|(k>>17))&0xffffffff; k=(k*c2)&0xffffffff; h^=k
    h^=n; h^=h>>16; h=(h*0x85ebca6b)&0xffffffff; h^=h>>13; h=(h*0xc2b2ae35)&0xffffffff; h^=h>>16
    return h
def bucket(salt,unit): return mm3((salt+"."+unit).encode())%100000


# ----------------------------------------------------------------- buckets.json
required_hash=[("",0),("hello",613153351),("The quick brown fox jumps over the lazy dog",776992547)]
extra_hash=["a","ab","abc","abcd","abcde","abcdefgh","Ünïcødé","用户","🚩 flag","\u0000"]
hashes=[{"input":s,"hash":h} for s,h in required_hash]
for s in extra_hash: hashes.append({"input":s,"hash":mm3(s.encode())})
for h in hashes: assert mm3(h["input"].encode())==h["hash"]
required=[("","",2941713443,13443),("flag","user-1",3653648881,48881),("enhanced-order-routing-v2","user-12345",352470590,70590),
("enhanced-clinical-alerts-v2","provider_12345",1172051466,51466),("b25","user-0",2900560916,60916),("b25","user-1999",3682395160,95160),
("gsalt","u1",2446181151,81151),("checkout-v2","Ünïcødé-用户",3065436038,36038),("x","a.b.c",389292105,92105),("routing-2026","acct-42",3923803845,3845)]
buckets=[]
for s,u,h,b in required:
    assert mm3((s+"."+u).encode())==h and h%100000==b,(s,u)
    buckets.append({"salt":s,"unit":u,"hash":h,"bucket":b})
extra=[("routing-2026","acct-27"),("routing-2026","acct-1"),("enhanced-order-routing-v2","acct-27"),("enhanced-clinical-alerts-v2","provider_10000"),
("enhanced-clinical-alerts-v2","provider_10001"),("new-checkout","12345"),("new-checkout","user-1"),("a.b","c"),("a","b.c"),
("flag","u"),("flag","us"),("flag","use"),("flag","user"),("","x"),("salt-with-ümlaut","🚩"),("checkout-v2","用户-42"),
("a-very-long-salt-used-to-cross-many-four-byte-blocks-0123456789","a-very-long-unit-as-well-abcdefghijklmnopqrstuvwxyz")]
for s,u in extra:
    h=mm3((s+"."+u).encode()); buckets.append({"salt":s,"unit":u,"hash":h,"bucket":h%100000})
doc={"function":"bucket = murmur3_x86_32(utf8(salt + \".\" + unit), seed 0) % 100000",
"note":"Golden vectors. The first cases of each list come from an independent implementation shipped with the design; the rest from tests/vectors/generate.py (a second, Python implementation). Never change an expected value: a change here moves users between variants.",
"murmur3_x86_32":hashes,"buckets":buckets}
open(os.path.join(HERE, "buckets.json"), "w").write(json.dumps(doc,indent=1,ensure_ascii=False)+"\n")


# ----------------------------------------------------------------- evaluations.json

NOW = "2026-06-01T12:00:00Z"
cases = []

def flag(key="f", rules=None, fallthrough=None, variants=None, off="off", **extra):
    f = {"key": key, "variants": variants or {"on": True, "off": False}, "off_variant": off}
    if rules: f["rules"] = rules
    f["fallthrough"] = fallthrough or {"variant": off}
    f.update(extra)
    return f

def doc(*flags, segments=None, groups=None):
    d = {"flags": list(flags)}
    if segments: d["segments"] = segments
    if groups: d["exclusion_groups"] = groups
    return d

def case(name, flags, context, expected, flag="f", default=False, expected_type=None, now=NOW):
    c = {"name": name, "flags": flags, "context": context, "now": now, "flag": flag, "default": default}
    if expected_type: c["expected_type"] = expected_type
    c["expected"] = expected
    assert name not in [x["name"] for x in cases], name
    cases.append(c)

HIT = {"value": True, "variant": "on", "reason": "TARGETING_MATCH", "rule_id": "r"}
MISS = {"value": False, "variant": "off", "reason": "DEFAULT"}

def op_case(name, clause, context, hit, segments=None):
    d = doc(flag(rules=[{"id": "r", "when": clause, "serve": {"variant": "on"}}]), segments=segments)
    case(name, d, context, HIT if hit else MISS)

def t(attr, op, values=None, **kw):
    c = {"attr": attr, "op": op}
    if values is not None: c["values"] = values
    c.update(kw)
    return c

# ---------------------------------------------------------------- in / not_in
op_case("in: string matches", t("tier", "in", ["gold", "silver"]), {"tier": "gold"}, True)
op_case("in: string does not match", t("tier", "in", ["gold", "silver"]), {"tier": "bronze"}, False)
op_case("in: is case-sensitive by default", t("tier", "in", ["gold"]), {"tier": "GOLD"}, False)
op_case("in: ignore_case", t("tier", "in", ["Gold"], ignore_case=True), {"tier": "gOLD"}, True)
op_case("in: list attribute matches if any element does", t("roles", "in", ["admin"]), {"roles": ["viewer", "admin"]}, True)
op_case("in: list attribute with no element in values", t("roles", "in", ["admin"]), {"roles": ["viewer", "editor"]}, False)
op_case("in: empty list attribute", t("roles", "in", ["admin"]), {"roles": []}, False)
op_case("in: missing attribute does not match", t("tier", "in", ["gold"]), {}, False)
op_case("in: null attribute counts as missing", t("tier", "in", ["gold"]), {"tier": None}, False)
op_case("in: number attribute vs string values does not match", t("tier", "in", ["1"]), {"tier": 1}, False)
op_case("in: numeric string attribute vs number values matches", t("plan_id", "in", [3, 4]), {"plan_id": "4"}, True)
op_case("in: boolean value", t("beta", "in", [True]), {"beta": True}, True)
op_case("in: boolean value does not match the string \"true\"", t("beta", "in", [True]), {"beta": "true"}, False)
op_case("in: false does not match true", t("beta", "in", [True]), {"beta": False}, False)
op_case("in: object attribute matches nothing", t("tier", "in", ["gold"]), {"tier": {"name": "gold"}}, False)
big = ["c%02d" % i for i in range(20)]
op_case("in: long list matches", t("country", "in", big), {"country": "c17"}, True)
op_case("in: long list does not match", t("country", "in", big), {"country": "c20"}, False)
op_case("in: long list with ignore_case", t("country", "in", [s.upper() for s in big], ignore_case=True), {"country": "c03"}, True)
op_case("not_in: value not in list matches", t("tier", "not_in", ["gold"]), {"tier": "bronze"}, True)
op_case("not_in: value in list does not match", t("tier", "not_in", ["gold"]), {"tier": "gold"}, False)
op_case("not_in: missing attribute matches", t("tier", "not_in", ["gold"]), {}, True)
op_case("not_in: null attribute matches", t("tier", "not_in", ["gold"]), {"tier": None}, True)
op_case("not_in: list attribute with one element in values does not match", t("roles", "not_in", ["admin"]), {"roles": ["viewer", "admin"]}, False)
op_case("not_in: list attribute with no element in values matches", t("roles", "not_in", ["admin"]), {"roles": ["viewer"]}, True)
op_case("not_in: ignore_case", t("tier", "not_in", ["GOLD"], ignore_case=True), {"tier": "gold"}, False)

# ---------------------------------------------------------------- eq / neq, numeric strings
for attr_value, hit in [(12, True), ("12", True), ("12.0", True), (12.0, True), ("12.5", False), (13, False),
                        ("twelve", False), ("12abc", False), ("", False), (True, False)]:
    op_case("eq [12]: attribute %s" % json.dumps(attr_value), t("n", "eq", [12]), {"n": attr_value}, hit)
for attr_value, hit in [("12", True), (12, False), ("12.0", False), (12.0, False)]:
    op_case("eq [\"12\"]: attribute %s" % json.dumps(attr_value), t("n", "eq", ["12"]), {"n": attr_value}, hit)
op_case("eq: negative decimal string", t("n", "eq", [-3.5]), {"n": "-3.5"}, True)
op_case("eq: string", t("plan", "eq", ["pro"]), {"plan": "pro"}, True)
op_case("eq: string is case-sensitive", t("plan", "eq", ["pro"]), {"plan": "Pro"}, False)
op_case("eq: ignore_case", t("plan", "eq", ["PRO"], ignore_case=True), {"plan": "pro"}, True)
op_case("eq: ignore_case folds non-ASCII", t("city", "eq", ["MÜNCHEN"], ignore_case=True), {"city": "münchen"}, True)
op_case("eq: true", t("beta", "eq", [True]), {"beta": True}, True)
op_case("eq: false", t("beta", "eq", [False]), {"beta": False}, True)
op_case("eq: false does not match a missing attribute", t("beta", "eq", [False]), {}, False)
op_case("eq: missing attribute does not match", t("plan", "eq", ["pro"]), {}, False)
op_case("eq: list attribute matches if any element equals", t("n", "eq", [12]), {"n": [1, "12", 3]}, True)
op_case("neq [12]: attribute 12", t("n", "neq", [12]), {"n": 12}, False)
op_case("neq [12]: attribute \"12.0\"", t("n", "neq", [12]), {"n": "12.0"}, False)
op_case("neq [12]: attribute 13", t("n", "neq", [12]), {"n": 13}, True)
op_case("neq [12]: attribute \"abc\"", t("n", "neq", [12]), {"n": "abc"}, True)
op_case("neq [\"12\"]: attribute 12 (a number is not the string)", t("n", "neq", ["12"]), {"n": 12}, True)
op_case("neq: missing attribute matches", t("plan", "neq", ["pro"]), {}, True)
op_case("neq: ignore_case", t("plan", "neq", ["PRO"], ignore_case=True), {"plan": "Pro"}, False)
op_case("neq: list attribute containing the value does not match", t("n", "neq", ["a"]), {"n": ["a", "b"]}, False)

# ---------------------------------------------------------------- contains
op_case("contains: substring of a string attribute", t("email", "contains", ["@corp."]), {"email": "ann@corp.example"}, True)
op_case("contains: no substring", t("email", "contains", ["@corp."]), {"email": "ann@example.com"}, False)
op_case("contains: any of several substrings", t("ua", "contains", ["Firefox", "Chrome"]), {"ua": "Mozilla/5.0 Chrome/120"}, True)
op_case("contains: substring is case-sensitive", t("ua", "contains", ["chrome"]), {"ua": "Chrome/120"}, False)
op_case("contains: substring with ignore_case", t("ua", "contains", ["CHROME"], ignore_case=True), {"ua": "Chrome/120"}, True)
op_case("contains: membership in a list attribute", t("segments", "contains", ["beta"]), {"segments": ["alpha", "beta"]}, True)
op_case("contains: list membership is not substring", t("segments", "contains", ["bet"]), {"segments": ["alpha", "beta"]}, False)
op_case("contains: list membership with ignore_case", t("segments", "contains", ["BETA"], ignore_case=True), {"segments": ["Beta"]}, True)
op_case("contains: number in a list of numbers", t("ids", "contains", [3]), {"ids": [1, 2, 3]}, True)
op_case("contains: number in a list of numeric strings", t("ids", "contains", [3]), {"ids": ["1", "3.0"]}, True)
op_case("contains: number attribute is the wrong type", t("n", "contains", ["1"]), {"n": 12}, False)
op_case("contains: missing attribute does not match", t("segments", "contains", ["beta"]), {}, False)

# ---------------------------------------------------------------- starts_with / ends_with
op_case("starts_with: matches", t("path", "starts_with", ["/api/", "/v2/"]), {"path": "/v2/users"}, True)
op_case("starts_with: does not match", t("path", "starts_with", ["/api/"]), {"path": "/web/api/"}, False)
op_case("starts_with: case-sensitive", t("path", "starts_with", ["/API"]), {"path": "/api/x"}, False)
op_case("starts_with: ignore_case", t("path", "starts_with", ["/API"], ignore_case=True), {"path": "/api/x"}, True)
op_case("starts_with: ignore_case folds non-ASCII", t("name", "starts_with", ["über"], ignore_case=True), {"name": "ÜBERMENSCH"}, True)
op_case("starts_with: list attribute, any element", t("hosts", "starts_with", ["eu-"]), {"hosts": ["us-1", "eu-2"]}, True)
op_case("starts_with: number attribute is the wrong type", t("n", "starts_with", ["1"]), {"n": 12}, False)
op_case("starts_with: missing attribute", t("path", "starts_with", ["/"]), {}, False)
op_case("ends_with: matches", t("email", "ends_with", ["@example.com"]), {"email": "a@example.com"}, True)
op_case("ends_with: does not match", t("email", "ends_with", ["@example.com"]), {"email": "a@example.com.evil"}, False)
op_case("ends_with: case-sensitive", t("email", "ends_with", ["@example.com"]), {"email": "A@EXAMPLE.COM"}, False)
op_case("ends_with: ignore_case", t("email", "ends_with", ["@example.com"], ignore_case=True), {"email": "A@EXAMPLE.COM"}, True)
op_case("ends_with: boolean attribute is the wrong type", t("b", "ends_with", ["e"]), {"b": True}, False)

# ---------------------------------------------------------------- matches
op_case("matches: anchored pattern matches", t("key", "matches", ["^user-[0-9]+$"]), {"key": "user-42"}, True)
op_case("matches: anchored pattern does not match", t("key", "matches", ["^user-[0-9]+$"]), {"key": "user-42x"}, False)
op_case("matches: unanchored pattern finds a match anywhere", t("key", "matches", ["[0-9]{3}"]), {"key": "ab123cd"}, True)
op_case("matches: case-sensitive by default", t("key", "matches", ["^user"]), {"key": "USER-1"}, False)
op_case("matches: inline (?i)", t("key", "matches", ["(?i)^user"]), {"key": "USER-1"}, True)
op_case("matches: ignore_case", t("key", "matches", ["^user"], ignore_case=True), {"key": "User-1"}, True)
op_case("matches: POSIX class", t("zip", "matches", ["^[[:digit:]]{5}$"]), {"zip": "10115"}, True)
op_case("matches: POSIX class does not match", t("zip", "matches", ["^[[:digit:]]{5}$"]), {"zip": "1011A"}, False)
op_case("matches: any of several patterns", t("key", "matches", ["^a", "z$"]), {"key": "xyz"}, True)
op_case("matches: number attribute is the wrong type", t("n", "matches", ["^1"]), {"n": 12}, False)
op_case("matches: list attribute, any element", t("tags", "matches", ["^team-"]), {"tags": ["x", "team-core"]}, True)
op_case("matches: missing attribute", t("key", "matches", [".*"]), {}, False)

# ---------------------------------------------------------------- lt / lte / gt / gte
for op, attr_value, hit in [("lt", 5, True), ("lt", 10, False), ("lt", 11, False), ("lte", 10, True), ("lte", 10.5, False),
                            ("gt", 10, False), ("gt", 10.001, True), ("gte", 10, True), ("gte", 9.999, False),
                            ("lt", "5", True), ("lt", "-20", True), ("gte", "10.0", True), ("gt", "1e3", True)]:
    op_case("%s [10]: attribute %s" % (op, json.dumps(attr_value)), t("n", op, [10]), {"n": attr_value}, hit)
op_case("lt: non-numeric string is the wrong type", t("n", "lt", [10]), {"n": "abc"}, False)
op_case("lt: boolean is the wrong type", t("n", "lt", [10]), {"n": True}, False)
op_case("lt: missing attribute", t("n", "lt", [10]), {}, False)
op_case("gt: list attribute, any element", t("n", "gt", [10]), {"n": [1, 20]}, True)
op_case("gte: decimal bound", t("score", "gte", [0.75]), {"score": 0.75}, True)
op_case("lt: any of several values", t("n", "lt", [1, 100]), {"n": 50}, True)

# ---------------------------------------------------------------- semver
sv = [("semver_lt", "1.2.3", ["2.0.0"], True), ("semver_lt", "2.0.0", ["2.0.0"], False),
      ("semver_lte", "2.0.0", ["2.0.0"], True), ("semver_eq", "1.2.3", ["1.2.3"], True),
      ("semver_eq", "1.2.4", ["1.2.3"], False), ("semver_gte", "1.10.0", ["1.9.0"], True),
      ("semver_gt", "1.2.3", ["1.2.3"], False), ("semver_gt", "1.2.10", ["1.2.9"], True),
      ("semver_lt", "1.2.3-beta.1", ["1.2.3"], True), ("semver_gt", "1.2.3-rc.1", ["1.2.3-beta.11"], True),
      ("semver_eq", "1.2.3+build.5", ["1.2.3"], True),
      ("semver_lt", "v1.2.3", ["2.0.0"], False), ("semver_gte", "v1.2.3", ["0.0.0"], False),
      ("semver_eq", "v1.2.3", ["1.2.3"], False), ("semver_lt", "1.2", ["2.0.0"], False),
      ("semver_lt", "01.2.3", ["2.0.0"], False)]
for op, attr_value, values, hit in sv:
    op_case("%s %s: attribute \"%s\"" % (op, values[0], attr_value), t("app.version", op, values), {"app": {"version": attr_value}}, hit)
op_case("semver_lt: number attribute is the wrong type", t("v", "semver_lt", ["2.0.0"]), {"v": 1}, False)
op_case("semver_gte: missing attribute", t("v", "semver_gte", ["0.0.0"]), {}, False)

# ---------------------------------------------------------------- before / after / $now
op_case("before: earlier time", t("signup", "before", ["2026-06-01T00:00:00Z"]), {"signup": "2026-01-01T00:00:00Z"}, True)
op_case("before: later time", t("signup", "before", ["2026-06-01T00:00:00Z"]), {"signup": "2026-07-01T00:00:00Z"}, False)
op_case("before: the same instant in another offset is not before", t("signup", "before", ["2026-06-01T00:00:00Z"]), {"signup": "2026-06-01T02:00:00+02:00"}, False)
op_case("before: an offset time one second earlier", t("signup", "before", ["2026-06-01T00:00:00Z"]), {"signup": "2026-06-01T01:59:59+02:00"}, True)
op_case("after: later time", t("signup", "after", ["2026-06-01T00:00:00Z"]), {"signup": "2026-06-01T00:00:00.001Z"}, True)
op_case("after: the same instant is not after", t("signup", "after", ["2026-06-01T00:00:00Z"]), {"signup": "2026-06-01T00:00:00Z"}, False)
op_case("before: epoch milliseconds attribute", t("signup", "before", ["2026-06-01T00:00:00Z"]), {"signup": 1767225600000}, True)
op_case("before: a date without time is not RFC 3339", t("signup", "before", ["2026-06-01T00:00:00Z"]), {"signup": "2026-01-01"}, False)
op_case("before: garbage is the wrong type", t("signup", "before", ["2026-06-01T00:00:00Z"]), {"signup": "yesterday"}, False)
op_case("after: missing attribute", t("signup", "after", ["2000-01-01T00:00:00Z"]), {}, False)
sched = {"all": [t("$now", "after", ["2026-05-01T00:00:00Z"]), t("$now", "before", ["2026-07-01T00:00:00Z"])]}
d = doc(flag(rules=[{"id": "r", "when": sched, "serve": {"variant": "on"}}]))
case("$now: inside a scheduled window", d, {}, HIT, now="2026-06-01T12:00:00Z")
case("$now: before a scheduled window", d, {}, MISS, now="2026-04-30T23:59:59Z")
case("$now: after a scheduled window", d, {}, MISS, now="2026-07-01T00:00:01Z")
case("$now: the window's end is exclusive", d, {}, MISS, now="2026-07-01T00:00:00Z")
case("$now: a context attribute called $now is ignored", d, {"$now": "2026-06-01T00:00:00Z"}, MISS, now="2027-01-01T00:00:00Z")

# ---------------------------------------------------------------- in_cidr
op_case("in_cidr: IPv4 inside a range", t("ip", "in_cidr", ["10.0.0.0/8"]), {"ip": "10.200.3.4"}, True)
op_case("in_cidr: IPv4 outside a range", t("ip", "in_cidr", ["10.0.0.0/8"]), {"ip": "11.0.0.1"}, False)
op_case("in_cidr: a single address is a range of one", t("ip", "in_cidr", ["127.0.0.1"]), {"ip": "127.0.0.1"}, True)
op_case("in_cidr: a single address, another address", t("ip", "in_cidr", ["127.0.0.1"]), {"ip": "127.0.0.2"}, False)
op_case("in_cidr: /0 holds every IPv4 address", t("ip", "in_cidr", ["0.0.0.0/0"]), {"ip": "203.0.113.9"}, True)
op_case("in_cidr: host bits in the range are ignored", t("ip", "in_cidr", ["192.168.1.77/24"]), {"ip": "192.168.1.3"}, True)
op_case("in_cidr: /32 boundary", t("ip", "in_cidr", ["160.33.0.0/16"]), {"ip": "160.34.0.0"}, False)
op_case("in_cidr: IPv6 inside a range", t("ip", "in_cidr", ["2001:db8::/32"]), {"ip": "2001:db8:0:1::42"}, True)
op_case("in_cidr: IPv6 outside a range", t("ip", "in_cidr", ["2001:db8::/32"]), {"ip": "2001:db9::1"}, False)
op_case("in_cidr: any of several ranges", t("ip", "in_cidr", ["10.0.0.0/8", "2001:db8::/32"]), {"ip": "2001:db8::abcd"}, True)
op_case("in_cidr: an IPv4 address is not in an IPv6 range", t("ip", "in_cidr", ["2001:db8::/32"]), {"ip": "10.0.0.1"}, False)
op_case("in_cidr: an IPv4-mapped IPv6 address is its IPv4 address", t("ip", "in_cidr", ["10.0.0.0/8"]), {"ip": "::ffff:10.1.2.3"}, True)
op_case("in_cidr: a non-address string is the wrong type", t("ip", "in_cidr", ["10.0.0.0/8"]), {"ip": "10.0.0.x"}, False)
op_case("in_cidr: a number is the wrong type", t("ip", "in_cidr", ["0.0.0.0/0"]), {"ip": 167772161}, False)
op_case("in_cidr: list attribute, any element", t("ips", "in_cidr", ["10.0.0.0/8"]), {"ips": ["192.0.2.1", "10.9.9.9"]}, True)
op_case("in_cidr: an attribute another clause reads as text first", {"any": [t("ip", "in", ["none"]), t("ip", "in_cidr", ["10.0.0.0/8"])]}, {"ip": "10.1.1.1"}, True)
op_case("semver: an attribute another clause reads as text first", {"any": [t("v", "in", ["none"]), t("v", "semver_gte", ["2.0.0"])]}, {"v": "2.1.0"}, True)
op_case("in_cidr: missing attribute", t("ip", "in_cidr", ["0.0.0.0/0"]), {}, False)

# ---------------------------------------------------------------- exists
op_case("exists: present string", t("email", "exists"), {"email": "a@b.c"}, True)
op_case("exists: empty string is present", t("email", "exists"), {"email": ""}, True)
op_case("exists: false is present", t("flag", "exists"), {"flag": False}, True)
op_case("exists: object is present", t("user", "exists"), {"user": {}}, True)
op_case("exists: missing", t("email", "exists"), {}, False)
op_case("exists: null is missing", t("email", "exists"), {"email": None}, False)
op_case("not exists: missing", {"not": t("email", "exists")}, {}, True)

# ---------------------------------------------------------------- attribute paths
op_case("path: nested objects", t("user.account.tier", "eq", ["gold"]), {"user": {"account": {"tier": "gold"}}}, True)
op_case("path: a flat dotted key", t("geo.country", "eq", ["DE"]), {"geo.country": "DE"}, True)
op_case("path: nested wins over a flat dotted key", t("geo.country", "eq", ["DE"]), {"geo": {"country": "DE"}, "geo.country": "FR"}, True)
op_case("path: through a non-object is missing", t("user.tier", "eq", ["gold"]), {"user": "gold"}, False)
op_case("path: through a non-object matches not_in", t("user.tier", "not_in", ["gold"]), {"user": "gold"}, True)
op_case("path: targetingKey is an attribute", t("targetingKey", "starts_with", ["user-"]), {"targetingKey": "user-1"}, True)

# ---------------------------------------------------------------- all / any / not
A = t("a", "eq", [1]); B = t("b", "eq", [1])
op_case("all: every clause holds", {"all": [A, B]}, {"a": 1, "b": 1}, True)
op_case("all: one clause fails", {"all": [A, B]}, {"a": 1, "b": 2}, False)
op_case("any: one clause holds", {"any": [A, B]}, {"a": 2, "b": 1}, True)
op_case("any: no clause holds", {"any": [A, B]}, {"a": 2, "b": 2}, False)
op_case("not: inverts a match", {"not": A}, {"a": 1}, False)
op_case("not: inverts a non-match", {"not": A}, {"a": 2}, True)
op_case("not: a missing attribute's in is false, so not is true", {"not": t("a", "in", [1])}, {}, True)
op_case("not: of not_in on a missing attribute", {"not": t("a", "not_in", [1])}, {}, False)
op_case("nested: all of any and not", {"all": [{"any": [A, B]}, {"not": t("c", "exists")}]}, {"b": "1"}, True)
op_case("nested: all of any and not, excluded by not", {"all": [{"any": [A, B]}, {"not": t("c", "exists")}]}, {"b": 1, "c": 0}, False)

# ---------------------------------------------------------------- segments
segs = {"beta": {"attr": "segments", "op": "contains", "values": ["beta"]},
        "staff": {"attr": "email", "op": "ends_with", "values": ["@corp.example"], "ignore_case": True},
        "insiders": {"any": [{"segment": "beta"}, {"segment": "staff"}]}}
op_case("segment: matches", {"segment": "beta"}, {"segments": ["beta"]}, True, segments=segs)
op_case("segment: does not match", {"segment": "beta"}, {"segments": ["ga"]}, False, segments=segs)
op_case("segment: segments referring to segments", {"segment": "insiders"}, {"email": "Ann@Corp.Example"}, True, segments=segs)
op_case("segment: segments referring to segments, no match", {"segment": "insiders"}, {"email": "ann@example.com"}, False, segments=segs)
op_case("segment: negated", {"not": {"segment": "insiders"}}, {"segments": ["beta"]}, False, segments=segs)

# ---------------------------------------------------------------- rule order, static, fallthrough
d = doc(flag(rules=[{"id": "first", "when": A, "serve": {"variant": "off"}},
                    {"id": "second", "when": B, "serve": {"variant": "on"}}], fallthrough={"variant": "on"}))
case("rules: first match wins", d, {"a": 1, "b": 1}, {"value": False, "variant": "off", "reason": "TARGETING_MATCH", "rule_id": "first"})
case("rules: second rule", d, {"a": 2, "b": 1}, {"value": True, "variant": "on", "reason": "TARGETING_MATCH", "rule_id": "second"})
case("rules: fallthrough when no rule matches", d, {}, {"value": True, "variant": "on", "reason": "DEFAULT"})
d = doc(flag(fallthrough={"variant": "on"}))
case("static: a flag without targeting", d, {}, {"value": True, "variant": "on", "reason": "STATIC"})
case("static: the context does not matter", d, {"targetingKey": "x", "a": [1, {"b": None}]}, {"value": True, "variant": "on", "reason": "STATIC"})

# ---------------------------------------------------------------- disabled
d = doc(flag(enabled=False, rules=[{"id": "r", "when": t("a", "exists"), "serve": {"variant": "on"}}], fallthrough={"variant": "on"}))
case("disabled: off_variant, even when a rule matches", d, {"a": 1}, {"value": False, "variant": "off", "reason": "DISABLED"})
d = doc(flag(enabled=False, variants={"red": "#f00", "blue": "#00f"}, off="blue", fallthrough={"variant": "red"}))
case("disabled: string off_variant", d, {}, {"value": "#00f", "variant": "blue", "reason": "DISABLED"}, default="#000", expected_type="string")
d = doc(flag(enabled=False, prerequisites=[{"flag": "p", "variants": ["on"]}], exclusion={"group": "g", "range": [0, 1]},
             access=t("never", "exists")), flag("p", fallthrough={"variant": "off"}), groups={"g": {}})
case("order: disabled comes before prerequisites, exclusion and access", d, {}, {"value": False, "variant": "off", "reason": "DISABLED"})

# ---------------------------------------------------------------- prerequisites
def prereq_doc(p_flag, variants=("on",), extra_flags=()):
    return doc(flag(prerequisites=[{"flag": "p", "variants": list(variants)}], fallthrough={"variant": "on"}), p_flag, *extra_flags)
pf = flag("p", rules=[{"id": "pr", "when": t("plan", "eq", ["pro"]), "serve": {"variant": "on"}}])
case("prerequisite: satisfied", prereq_doc(pf), {"plan": "pro"}, {"value": True, "variant": "on", "reason": "DEFAULT"})
case("prerequisite: wrong variant", prereq_doc(pf), {"plan": "free"}, {"value": False, "variant": "off", "reason": "PREREQUISITE_FAILED"})
case("prerequisite: any listed variant satisfies", prereq_doc(pf, ("on", "off")), {"plan": "free"}, {"value": True, "variant": "on", "reason": "DEFAULT"})
case("prerequisite: the prerequisite flag itself", prereq_doc(pf), {"plan": "pro"}, {"value": True, "variant": "on", "reason": "TARGETING_MATCH", "rule_id": "pr"}, flag="p")
pd = flag("p", enabled=False, fallthrough={"variant": "on"})
case("prerequisite: disabled prerequisite serves its off_variant", prereq_doc(pd), {}, {"value": False, "variant": "off", "reason": "PREREQUISITE_FAILED"})
case("prerequisite: disabled prerequisite, off listed", prereq_doc(pd, ("off",)), {}, {"value": True, "variant": "on", "reason": "DEFAULT"})
pe = flag("p", fallthrough={"rollout": {"weights": {"on": 100}}})
case("prerequisite: an error in the prerequisite fails it", prereq_doc(pe, ("on", "off")), {}, {"value": False, "variant": "off", "reason": "PREREQUISITE_FAILED"})
case("prerequisite: the same prerequisite without error", prereq_doc(pe), {"targetingKey": "u"}, {"value": True, "variant": "on", "reason": "DEFAULT"})
chain = doc(flag(prerequisites=[{"flag": "p", "variants": ["on"]}], fallthrough={"variant": "on"}),
            flag("p", prerequisites=[{"flag": "q", "variants": ["on"]}], fallthrough={"variant": "on"}),
            flag("q", rules=[{"id": "q1", "when": t("q", "eq", [True]), "serve": {"variant": "on"}}]))
case("prerequisite: chain satisfied", chain, {"q": True}, {"value": True, "variant": "on", "reason": "DEFAULT"})
case("prerequisite: chain broken at the end", chain, {"q": False}, {"value": False, "variant": "off", "reason": "PREREQUISITE_FAILED"})
d = doc(flag(prerequisites=[{"flag": "p", "variants": ["on"]}], exclusion={"group": "g", "range": [0, 1]}, fallthrough={"variant": "on"}),
        flag("p", fallthrough={"variant": "off"}), groups={"g": {}})
case("order: prerequisites come before exclusion", d, {}, {"value": False, "variant": "off", "reason": "PREREQUISITE_FAILED"})
d = doc(flag(prerequisites=[{"flag": "p", "variants": ["big"]}], fallthrough={"variant": "on"}),
        flag("p", variants={"small": 1, "big": 2}, off="small", rules=[{"id": "r", "when": t("n", "gt", [5]), "serve": {"variant": "big"}}]))
case("prerequisite: number-valued prerequisite", d, {"n": 6}, {"value": True, "variant": "on", "reason": "DEFAULT"})

# ---------------------------------------------------------------- exclusion
def excl_doc(salt=None):
    g = {"salt": salt} if salt else {}
    return doc(flag("left", exclusion={"group": "exp", "range": [0, 50000]}, fallthrough={"variant": "on"}),
               flag("right", exclusion={"group": "exp", "range": [50000, 100000]}, fallthrough={"variant": "on"}),
               groups={"exp": g})
for salt in [None, "routing-2026"]:
    s = salt or "exp"
    for unit in ["acct-1", "acct-2", "acct-42"]:
        b = bucket(s, unit)
        for f, lo, hi in [("left", 0, 50000), ("right", 50000, 100000)]:
            inside = lo <= b < hi
            exp = {"value": True, "variant": "on", "reason": "DEFAULT"} if inside else {"value": False, "variant": "off", "reason": "EXCLUDED"}
            case("exclusion: %s, salt %s, unit %s (bucket %d)" % (f, s, unit, b), excl_doc(salt), {"targetingKey": unit}, exp, flag=f)
case("exclusion: no targetingKey is outside every range", excl_doc(), {"user": "x"}, {"value": False, "variant": "off", "reason": "EXCLUDED"}, flag="left")
case("exclusion: empty targetingKey is outside every range", excl_doc(), {"targetingKey": ""}, {"value": False, "variant": "off", "reason": "EXCLUDED"}, flag="right")
u = next("u%d" % i for i in range(1000) if bucket("exp", "u%d" % i) < 50000)
d = doc(flag(exclusion={"group": "exp", "range": [0, 50000]}, access=t("ok", "eq", [True]), fallthrough={"variant": "on"}), groups={"exp": {}})
case("order: exclusion comes before access (outside)", d, {"targetingKey": next("u%d" % i for i in range(1000) if bucket("exp", "u%d" % i) >= 50000)},
     {"value": False, "variant": "off", "reason": "EXCLUDED"})
case("order: inside the range, access is checked", d, {"targetingKey": u}, {"value": False, "variant": "off", "reason": "DENIED"})

# ---------------------------------------------------------------- access
acc = {"all": [t("provider.authorized", "eq", [True]), t("provider.phi_access", "eq", [True])]}
d = doc(flag(access=acc, audit_evaluations="all", rules=[{"id": "r", "when": t("shift", "in", ["day"]), "serve": {"variant": "on"}}]))
case("access: granted, rule matches", d, {"provider": {"authorized": True, "phi_access": True}, "shift": "day"}, HIT)
case("access: granted, no rule matches", d, {"provider": {"authorized": True, "phi_access": True}, "shift": "night"}, MISS)
case("access: not authorized", d, {"provider": {"authorized": False, "phi_access": True}, "shift": "day"}, {"value": False, "variant": "off", "reason": "DENIED"})
case("access: no PHI access", d, {"provider": {"authorized": True}, "shift": "day"}, {"value": False, "variant": "off", "reason": "DENIED"})
case("access: a string \"true\" is not true", d, {"provider": {"authorized": "true", "phi_access": True}, "shift": "day"}, {"value": False, "variant": "off", "reason": "DENIED"})
case("access: empty context", d, {}, {"value": False, "variant": "off", "reason": "DENIED"})

# ---------------------------------------------------------------- rollouts and variants
def split_case(name, weights, unit, flag_key="f", variants=None, off="off", salt=None, by=None, ctx=None, values=None, default=False, etype=None):
    r = {"weights": weights}
    if salt: r["salt"] = salt
    if by: r["by"] = by
    d = doc(flag(flag_key, variants=variants, off=off, fallthrough={"rollout": r}))
    b = bucket(salt or flag_key, unit)
    acc = 0; chosen = None
    for v, w in weights.items():
        acc += round(w * 1000)
        if b < acc:
            chosen = v; break
    value = (variants or {"on": True, "off": False})[chosen]
    case("%s (unit %s, bucket %d)" % (name, unit, b), d, ctx if ctx is not None else {"targetingKey": unit},
         {"value": value, "variant": chosen, "reason": "SPLIT"}, flag=flag_key, default=default, expected_type=etype)

for unit in ["user-1", "user-2", "user-3", "user-4", "user-12345"]:
    split_case("split 25/75, on first", {"on": 25, "off": 75}, unit, flag_key="new-checkout")
for unit in ["user-1", "user-2", "user-3", "user-4"]:
    split_case("split 75/25, off first", {"off": 75, "on": 25}, unit, flag_key="new-checkout")
colors = {"red": "#d32f2f", "blue": "#1976d2", "green": "#388e3c"}
for unit in ["a", "b", "c", "d", "e", "f"]:
    split_case("multivariant string split 33.333/33.333/33.334", {"red": 33.333, "blue": 33.333, "green": 33.334}, unit,
               flag_key="banner", variants=colors, off="blue", default="#000000", etype="string")
for unit in ["user-1", "user-2"]:
    split_case("custom salt", {"on": 50, "off": 50}, unit, salt="shared-salt")
    split_case("rollout by a nested attribute", {"on": 50, "off": 50}, unit, by="org.id", ctx={"targetingKey": "ignored", "org": {"id": unit}})
split_case("numeric targetingKey hashes as its JSON text", {"on": 50, "off": 50}, "12345", ctx={"targetingKey": 12345})
split_case("zero weight is never served", {"never": 0, "on": 100}, "user-1", variants={"on": True, "off": False, "never": False})
unit = next("u%d" % i for i in range(3000000) if bucket("tiny", "u%d" % i) < 1)
split_case("0.001 % is one bucket", {"on": 0.001, "off": 99.999}, unit, flag_key="tiny")
split_case("0.001 %, the next bucket is out", {"on": 0.001, "off": 99.999}, next("u%d" % i for i in range(100) if bucket("tiny", "u%d" % i) >= 1), flag_key="tiny")
d = doc(flag(rules=[{"id": "pros", "when": t("tier", "eq", ["pro"]), "serve": {"rollout": {"weights": {"on": 50, "off": 50}}}}]))
b = bucket("f", "user-1")
case("split inside a rule reports the rule (bucket %d)" % b, d, {"targetingKey": "user-1", "tier": "pro"},
     {"value": b < 50000, "variant": "on" if b < 50000 else "off", "reason": "SPLIT", "rule_id": "pros"})
case("rollout: missing targetingKey gives the caller's default", d, {"tier": "pro"},
     {"value": True, "variant": None, "reason": "ERROR", "rule_id": "pros", "error_code": "TARGETING_KEY_MISSING"}, default=True)
case("rollout: empty targetingKey is missing", d, {"tier": "pro", "targetingKey": ""},
     {"value": False, "variant": None, "reason": "ERROR", "rule_id": "pros", "error_code": "TARGETING_KEY_MISSING"})
case("rollout: boolean targetingKey is missing", d, {"tier": "pro", "targetingKey": True},
     {"value": False, "variant": None, "reason": "ERROR", "rule_id": "pros", "error_code": "TARGETING_KEY_MISSING"})
case("rollout: not reached, no unit needed", d, {"tier": "free"}, MISS)
d = doc(flag(fallthrough={"rollout": {"by": "provider.id", "weights": {"on": 10, "off": 90}}}))
case("rollout by provider.id: missing unit", d, {"targetingKey": "t", "provider": {}},
     {"value": True, "variant": None, "reason": "ERROR", "error_code": "TARGETING_KEY_MISSING"}, default=True)

# `by` as a list: the first attribute the context has is the unit.
for unit in ["user-1", "user-2"]:
    split_case("rollout by [targetingKey, sessionId]: the targeting key first", {"on": 50, "off": 50}, unit,
               by=["targetingKey", "sessionId"], ctx={"targetingKey": unit, "sessionId": "s-" + unit})
    split_case("rollout by [targetingKey, sessionId]: the session without a targeting key", {"on": 50, "off": 50}, unit,
               by=["targetingKey", "sessionId"], ctx={"sessionId": unit})
    split_case("rollout by [targetingKey, sessionId]: an empty targeting key is skipped", {"on": 50, "off": 50}, unit,
               by=["targetingKey", "sessionId"], ctx={"targetingKey": "", "sessionId": unit})
d = doc(flag(fallthrough={"rollout": {"by": ["targetingKey", "sessionId"], "weights": {"on": 50, "off": 50}}}))
case("rollout by [targetingKey, sessionId]: neither present", d, {"plan": "x"},
     {"value": False, "variant": None, "reason": "ERROR", "error_code": "TARGETING_KEY_MISSING"})

nums = {"small": 10, "default": 25, "large": 50.5}
d = doc(flag("page-size", variants=nums, off="default", rules=[{"id": "pro", "when": t("plan", "eq", ["pro"]), "serve": {"variant": "large"}}]))
case("number variants", d, {"plan": "pro"}, {"value": 50.5, "variant": "large", "reason": "TARGETING_MATCH", "rule_id": "pro"}, flag="page-size", default=0, expected_type="number")
case("number variants, fallthrough", d, {}, {"value": 25, "variant": "default", "reason": "DEFAULT"}, flag="page-size", default=0, expected_type="number")
case("number flag requested as string: TYPE_MISMATCH", d, {}, {"value": "x", "variant": None, "reason": "ERROR", "error_code": "TYPE_MISMATCH"}, flag="page-size", default="x", expected_type="string")
objs = {"standard": {"mode": "light", "density": "comfortable", "tags": ["a", 1, None]}, "compact": [1, 2, 3]}
d = doc(flag("theme", variants=objs, off="standard", rules=[{"id": "c", "when": t("compact", "eq", [True]), "serve": {"variant": "compact"}}]))
case("JSON object variant", d, {}, {"value": objs["standard"], "variant": "standard", "reason": "DEFAULT"}, flag="theme", default={}, expected_type="object")
case("JSON array variant", d, {"compact": True}, {"value": [1, 2, 3], "variant": "compact", "reason": "TARGETING_MATCH", "rule_id": "c"}, flag="theme", default={}, expected_type="object")
case("JSON flag requested as boolean: TYPE_MISMATCH", d, {}, {"value": False, "variant": None, "reason": "ERROR", "error_code": "TYPE_MISMATCH"}, flag="theme", default=False, expected_type="boolean")
d = doc(flag(fallthrough={"variant": "on"}))
case("boolean flag requested as boolean", d, {}, {"value": True, "variant": "on", "reason": "STATIC"}, expected_type="boolean")
case("boolean flag requested as string: TYPE_MISMATCH", d, {}, {"value": "dflt", "variant": None, "reason": "ERROR", "error_code": "TYPE_MISMATCH"}, default="dflt", expected_type="string")
case("boolean flag requested as number: TYPE_MISMATCH", d, {}, {"value": 7, "variant": None, "reason": "ERROR", "error_code": "TYPE_MISMATCH"}, default=7, expected_type="number")
case("boolean flag requested as object: TYPE_MISMATCH", d, {}, {"value": {"a": 1}, "variant": None, "reason": "ERROR", "error_code": "TYPE_MISMATCH"}, default={"a": 1}, expected_type="object")
d = doc(flag(enabled=False, fallthrough={"variant": "on"}))
case("disabled flag requested with the wrong type: TYPE_MISMATCH", d, {}, {"value": "d", "variant": None, "reason": "ERROR", "error_code": "TYPE_MISMATCH"}, default="d", expected_type="string")

# ---------------------------------------------------------------- errors
d = doc(flag(fallthrough={"variant": "on"}))
case("unknown flag: FLAG_NOT_FOUND with the caller's default", d, {}, {"value": True, "variant": None, "reason": "ERROR", "error_code": "FLAG_NOT_FOUND"}, flag="nope", default=True)
case("unknown flag: FLAG_NOT_FOUND is case-sensitive", d, {}, {"value": "x", "variant": None, "reason": "ERROR", "error_code": "FLAG_NOT_FOUND"}, flag="F", default="x", expected_type="string")
case("empty document: FLAG_NOT_FOUND", {"flags": []}, {}, {"value": 1, "variant": None, "reason": "ERROR", "error_code": "FLAG_NOT_FOUND"}, default=1)
for ctx in ["user-1", ["targetingKey", "u"], None, 42, True]:
    case("context %s is not an object: INVALID_CONTEXT" % json.dumps(ctx), d, ctx,
         {"value": False, "variant": None, "reason": "ERROR", "error_code": "INVALID_CONTEXT"})

# ---------------------------------------------------------------- the caller's default
# Without an off variant, the guard phases answer the caller's default with their reason
# (OpenFeature's and flagd's disabled flag); `{"caller_default": true}` serves it from a
# rule or the fallthrough (flagd's flags without a default variant). Neither is an error.
def no_off(key="f", **extra):
    f = {"key": key, "variants": {"on": True, "off": False}, "fallthrough": {"variant": "on"}}
    f.update(extra)
    return f
case("no off_variant: disabled serves the caller's default", doc(no_off(enabled=False)), {},
     {"value": "dflt", "variant": None, "reason": "DISABLED"}, default="dflt")
case("no off_variant: disabled, the default keeps its type", doc(no_off(enabled=False)), {},
     {"value": True, "variant": None, "reason": "DISABLED"}, default=True, expected_type="boolean")
case("no off_variant: a failed prerequisite serves the caller's default",
     doc(no_off(prerequisites=[{"flag": "p", "variants": ["on"]}]), flag("p")), {},
     {"value": 7, "variant": None, "reason": "PREREQUISITE_FAILED"}, default=7)
case("no off_variant: excluded serves the caller's default",
     doc(no_off(exclusion={"group": "g", "range": [0, 1]}), groups={"g": {}}), {},
     {"value": False, "variant": None, "reason": "EXCLUDED"})
case("no off_variant: denied serves the caller's default", doc(no_off(access=t("ok", "eq", [True]))), {},
     {"value": False, "variant": None, "reason": "DENIED"})
case("no off_variant: an enabled flag serves as usual", doc(no_off()), {}, {"value": True, "variant": "on", "reason": "STATIC"})
d = doc(no_off(rules=[{"id": "vip", "when": t("plan", "eq", ["vip"]), "serve": {"variant": "on"}},
                      {"id": "anon", "when": {"not": t("targetingKey", "exists")}, "serve": {"caller_default": True}}],
               fallthrough={"caller_default": True}))
case("caller_default: a rule serves it", d, {"plan": "free"},
     {"value": "x", "variant": None, "reason": "TARGETING_MATCH", "rule_id": "anon"}, default="x")
case("caller_default: the fallthrough serves it", d, {"plan": "free", "targetingKey": "u"},
     {"value": "x", "variant": None, "reason": "DEFAULT"}, default="x")
case("caller_default: other rules still serve variants", d, {"plan": "vip"}, HIT | {"rule_id": "vip"})
case("caller_default: a flag whose only serve is the caller's default is not static",
     doc(no_off(fallthrough={"caller_default": True})), {}, {"value": 3, "variant": None, "reason": "DEFAULT"}, default=3)
case("caller_default: a prerequisite that serves the caller's default fails",
     doc(flag(prerequisites=[{"flag": "p", "variants": ["on", "off"]}], fallthrough={"variant": "on"}),
         no_off("p", fallthrough={"caller_default": True})), {},
     {"value": False, "variant": "off", "reason": "PREREQUISITE_FAILED"})

# ---------------------------------------------------------------- bucket tests
# `{"bucket": {...}}` holds when the unit's position (as a rollout with the same by,
# salt and bucketing computes it) is in [from %, to %); without a unit it does not hold,
# so the rule falls through to the next one.
def position(scheme, salt, unit):
    if scheme == "vexil": return mm3((salt + "." + unit).encode()) % 100000
    if scheme == "unleash": return (mm3((salt + ":" + unit).encode()) % 100) * 1000
    if scheme == "unleash_variants": return (mm3((salt + ":" + unit).encode(), 86028157) % 1000) * 100
    if scheme == "flagd": return (mm3((salt + unit).encode()) * 100000) >> 32
def gated(test, second=None):
    rules = [{"id": "gate", "when": {"bucket": test}, "serve": {"variant": "on"}},
             {"id": "next", "when": second or t("plan", "eq", ["pro"]), "serve": {"variant": "off"}}]
    return doc(flag(rules=rules, fallthrough={"variant": "off"}))
NEXT = {"value": False, "variant": "off", "reason": "TARGETING_MATCH", "rule_id": "next"}
GATE = {"value": True, "variant": "on", "reason": "TARGETING_MATCH", "rule_id": "gate"}
for scheme, salt, lo, hi in [("vexil", None, 0, 50), ("vexil", "exp-7", 25, 75.5), ("unleash", "m", 0, 32),
                              ("unleash_variants", "g", 10, 40.5), ("flagd", "seed", 0, 33.333)]:
    test = {"range": [lo, hi]}
    if scheme != "vexil": test["bucketing"] = scheme
    if salt: test["salt"] = salt
    for unit in ["user-1", "user-2", "user-3", "user-4", "acct-42"]:
        pos = position(scheme, salt or "f", unit)
        inside = lo * 1000 <= pos < hi * 1000
        case("bucket %s [%s, %s): unit %s at %d" % (scheme, lo, hi, unit, pos), gated(test),
             {"targetingKey": unit, "plan": "pro"}, GATE if inside else NEXT)
case("bucket: no unit does not hold, the next rule is checked", gated({"range": [0, 100]}), {"plan": "pro"}, NEXT)
case("bucket: no unit and no later match falls through", gated({"range": [0, 100]}), {}, MISS)
case("bucket: an empty unit is no unit", gated({"range": [0, 100]}), {"targetingKey": "", "plan": "pro"}, NEXT)
case("bucket: not(bucket) holds without a unit", doc(flag(rules=[{"id": "r", "when": {"not": {"bucket": {"range": [0, 100]}}}, "serve": {"variant": "on"}}])), {}, HIT)
for unit in ["s-1", "s-2", "s-3", "s-4", "s-5", "s-6"]:
    pos = position("unleash", "grp", unit)
    test = {"by": ["targetingKey", "sessionId"], "salt": "grp", "bucketing": "unleash", "range": [0, 50]}
    case("bucket by [targetingKey, sessionId]: the session %s at %d" % (unit, pos), gated(test),
         {"sessionId": unit, "plan": "pro"}, GATE if pos < 50000 else NEXT)
seg = {"half": {"bucket": {"salt": "shared", "range": [0, 50]}}}
for unit in ["user-1", "user-2", "user-3"]:
    pos = position("vexil", "shared", unit)
    d = doc(flag(rules=[{"id": "r", "when": {"segment": "half"}, "serve": {"variant": "on"}}]), segments=seg)
    case("bucket in a segment, salted: unit %s at %d" % (unit, pos), d, {"targetingKey": unit}, HIT if pos < 50000 else MISS)

# ---------------------------------------------------------------- rollouts that fall through
# `"missing_unit": "fallthrough"` on a rule's rollout: a context without the unit gets the
# flag's fallthrough (reason DEFAULT), as flagd answers a fractional without its key.
ft_rule = {"id": "split", "when": t("plan", "eq", ["pro"]),
           "serve": {"rollout": {"weights": {"on": 50, "off": 50}, "missing_unit": "fallthrough"}}}
d = doc(flag(rules=[ft_rule, {"id": "later", "when": t("plan", "exists"), "serve": {"variant": "on"}}],
             fallthrough={"variant": "off"}))
case("missing_unit fallthrough: without a unit the fallthrough serves, later rules are not checked", d, {"plan": "pro"}, MISS)
for unit in ["user-1", "user-3"]:
    b = bucket("f", unit)
    case("missing_unit fallthrough: with a unit the rollout serves (bucket %d)" % b, d, {"plan": "pro", "targetingKey": unit},
         {"value": b < 50000, "variant": "on" if b < 50000 else "off", "reason": "SPLIT", "rule_id": "split"})
d = doc(no_off(rules=[ft_rule], fallthrough={"caller_default": True}))
case("missing_unit fallthrough: to a caller_default fallthrough", d, {"plan": "pro"}, {"value": "x", "variant": None, "reason": "DEFAULT"}, default="x")
d = doc(flag(rules=[ft_rule], fallthrough={"rollout": {"by": "sessionId", "weights": {"on": 100}}}))
case("missing_unit fallthrough: a fallthrough rollout without its unit is still an error", d, {"plan": "pro"},
     {"value": False, "variant": None, "reason": "ERROR", "error_code": "TARGETING_KEY_MISSING"})
b = bucket("f", "s-1")
case("missing_unit fallthrough: the fallthrough rollout with its unit", d, {"plan": "pro", "sessionId": "s-1"},
     {"value": True, "variant": "on", "reason": "SPLIT"})
d = doc(flag(rules=[{"id": "r", "when": t("plan", "eq", ["pro"]), "serve": {"rollout": {"weights": {"on": 100}, "missing_unit": "error"}}}]))
case("missing_unit error: the default, written out", d, {"plan": "pro"},
     {"value": True, "variant": None, "reason": "ERROR", "rule_id": "r", "error_code": "TARGETING_KEY_MISSING"}, default=True)

# ---------------------------------------------------------------- lenient operators
# `"lenient": true`: numeric operators read text as JavaScript's Number() does (Unleash's
# NUM_ constraints, JSONLogic); semver operators read versions as flagd does.
for ctx, hit in [(" 7", True), ("7 ", True), ("", True), ("0x5", True), ("1e0", True), (7, True), ("12", False),
                 ("abc", False), ("Infinity", False), ("-Infinity", True), (True, False), (None, False)]:
    op_case("lt 10, lenient: %s" % json.dumps(ctx), t("n", "lt", [10], lenient=True), {"n": ctx}, hit)
for ctx, hit in [(" 7", False), ("", False), ("7", True)]:
    op_case("lt 10, strict: %s" % json.dumps(ctx), t("n", "lt", [10]), {"n": ctx}, hit)
op_case("gte 16, lenient: hex 0x10", t("n", "gte", [16], lenient=True), {"n": "0x10"}, True)
for ctx, hit in [("1.0.0", True), ("v1.0.0", True), ("V1.0.0", True), (" 1.0.0 ", True), ("1", True), ("1.0", True),
                 (1, True), ("1.0.0+build", True), ("1.0.1", False), ("01", False), ("1.0.0.0", False), ("x", False), (True, False)]:
    op_case("semver_eq 1.0.0, lenient: %s" % json.dumps(ctx), t("v", "semver_eq", ["v1.0.0"], lenient=True), {"v": ctx}, hit)
for ctx, hit in [(1.2, True), (1.1, False), (2, True), (1, False), ("1.2", True)]:
    op_case("semver_gt 1.1, lenient: %s" % json.dumps(ctx), t("v", "semver_gt", ["1.1"], lenient=True), {"v": ctx}, hit)
op_case("semver_eq, strict: v1.0.0 is not a version", t("v", "semver_eq", ["1.0.0"]), {"v": "v1.0.0"}, False)

# ---------------------------------------------------------------- unleash_variants with a total
# Unleash picks the first variant whose cumulative weight reaches hash % total + 1; with
# `"total"`, positions are (hash % total) × 100 000 / total and the import writes cuts at
# floor((C - 1) × 100 000 / total) + 1 for each cumulative weight C.
def unleash_total_weights(raw):
    T = sum(raw); cuts = []; c = 0
    for w in raw:
        c += w
        cuts.append(0 if c == 0 else 100000 if c >= T else (c - 1) * 100000 // T + 1)
    out = []; prev = 0
    for cut in cuts:
        out.append((cut - prev) / 1000); prev = cut
    return out
for raw in [[33, 33, 33], [1, 1], [50, 0, 50], [7, 993]]:
    names = ["a", "b", "c", "d"][:len(raw)]
    w = unleash_total_weights(raw)
    T = sum(raw)
    d = doc(flag(variants={n: n for n in names}, off=names[0],
                 fallthrough={"rollout": {"salt": "grp", "bucketing": "unleash_variants", "total": T,
                                          "weights": dict(zip(names, w))}}))
    for unit in ["user-1", "user-2", "user-3", "user-4", "user-5", "user-6"]:
        target = mm3(("grp:" + unit).encode(), 86028157) % T + 1
        acc = 0; want = None
        for n, x in zip(names, raw):
            if x == 0: continue
            acc += x
            if acc >= target: want = n; break
        case("unleash_variants total %d %s: unit %s (target %d)" % (T, raw, unit, target), d, {"targetingKey": unit},
             {"value": want, "variant": want, "reason": "SPLIT"}, default="")

# ---------------------------------------------------------------- flagd with a total
# flagd picks the first variant whose cumulative weight exceeds (hash × total) >> 32; with
# `"total"`, positions are that value × 100 000 / total, cut as for unleash_variants.
for raw in [[1, 1, 1], [5, 4, 2], [0, 3], [50, 50]]:
    names = ["a", "b", "c"][:len(raw)]
    w = unleash_total_weights(raw)
    T = sum(raw)
    d = doc(flag(variants={n: n for n in names}, off=names[0],
                 fallthrough={"rollout": {"salt": "f", "bucketing": "flagd", "total": T, "weights": dict(zip(names, w))}}))
    for unit in ["user-1", "user-2", "user-3", "user-4", "user-5", "user-6"]:
        b = (mm3(("f" + unit).encode()) * T) >> 32
        acc = 0; want = None
        for n, x in zip(names, raw):
            acc += x
            if acc > b: want = n; break
        case("flagd total %d %s: unit %s (bucket %d)" % (T, raw, unit, b), d, {"targetingKey": unit},
             {"value": want, "variant": want, "reason": "SPLIT"}, default="")
    test = {"salt": "f", "bucketing": "flagd", "total": T, "range": [0, w[0]]} if w[0] > 0 else None
    if test:
        for unit in ["user-1", "user-2", "user-3"]:
            b = (mm3(("f" + unit).encode()) * T) >> 32
            case("bucket flagd total %d %s: unit %s (bucket %d)" % (T, raw, unit, b), gated(test),
                 {"targetingKey": unit, "plan": "pro"}, GATE if b < raw[0] else NEXT)

out = {"description": "Evaluation golden vectors: the contract between engine versions. Each case loads `flags` (a flags document), "
       "resolves `context`, evaluates `flag` at `now` with the caller's `default` (and `expected_type` when given: boolean, string, "
       "number or object) and must produce exactly `expected` (`rule_id` and `error_code` absent means none; `variant` null means "
       "the caller's default). Read `flags` keeping the written order of object keys: rollout weights fill buckets in "
       "the order written. Buckets follow tests/vectors/buckets.json.",
       "cases": cases}
open(os.path.join(HERE, "evaluations.json"), "w").write(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
print("evaluations.json:", len(cases), "cases")
