import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Cidr, formatCidr, judgeAdminCidrs, parseCidr, unionSize } from "../../src/config/cidr";
import { parseConfig } from "../../src/config/schema";
import { BadInput, accepts, id, onDroplet, refuses } from "./config-helpers";

const admin = (...adminCidrs: string[]) => onDroplet({ adminCidrs });
const key = (i: number) => `djangostack:droplet.adminCidrs[${i}]`;
const LIST = "djangostack:droplet.adminCidrs";

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  assert.ok(parsed.ok, `${text}: ${parsed.ok ? "" : parsed.reason}`);
  return parsed.cidr;
}

describe("parseCidr: IPv4, IPv6, '::', embedded IPv4, canonical form", () => {
  const canonical: [string, string][] = [
    ["203.0.113.7", "203.0.113.7/32"],
    ["203.0.113.0/24", "203.0.113.0/24"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["2001:DB8::/32", "2001:db8::/32"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001/128", "2001:db8::1/128"],
    ["2001:db8:0:0:1:0:0:1/128", "2001:db8::1:0:0:1/128"],
    ["0:0:0:0:0:0:0:0/0", "::/0"],
    ["::0/0", "::/0"],
    ["0000::/0", "::/0"],
    ["::", "::/128"],
    ["1::", "1::/128"],
    ["::ffff:192.0.2.1", "::ffff:c000:201/128"],
    ["64:ff9b::192.0.2.33/128", "64:ff9b::c000:221/128"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8/128"],
    ["1:2:3:4:5:6:1.2.3.4/128", "1:2:3:4:5:6:102:304/128"],
  ];
  for (const [text, expected] of canonical) {
    it(`${text} -> ${expected}`, () => assert.equal(formatCidr(cidr(text)), expected));
  }

  const invalid = ["256.1.1.1/32", "1.2.3/24", "1.2.3.4/33", "::g/64", "1.2.3.4.5/32", "01.2.3.4/32", "1.2.3.4/024", "1.2.3.4/-1", "1.2.3.4/", "/24", "1.2.3.4/24/8", " 1.2.3.4/32", "1..2.3/32", "1:2:3:4:5:6:7:8:9/128", "1::2::3/128", "12345::/16", "::/129", "fe80::1%eth0/128", "1:2:3:4:5:6:7:8::/128", ":1::/64", "1.2.3.256/32", "::1.2.3/128", "1.2.3.4:22/32", "localhost/32", ""];
  for (const text of invalid) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.equal(parseCidr(text).ok, false));
  }

  it("reports host bits instead of silently widening", () => {
    const parsed = parseCidr("203.0.113.7/24");
    assert.ok(parsed.ok && parsed.hostBitsSet && formatCidr(parsed.cidr) === "203.0.113.0/24");
  });

  it("unions overlapping ranges once (bigint arithmetic)", () => {
    assert.equal(unionSize([cidr("10.0.0.0/8"), cidr("10.1.0.0/16"), cidr("11.0.0.0/8")], 4), 2n ** 25n);
    assert.equal(unionSize([cidr("0.0.0.0/1"), cidr("128.0.0.0/1")], 4), 2n ** 32n);
    assert.equal(unionSize([cidr("::/1"), cidr("8000::/1")], 6), 2n ** 128n);
  });
});

describe("droplet.adminCidrs refuses the whole internet in disguise and invalid ranges", () => {
  const cases: BadInput[] = [
    ["/0 written with a non-zero address", admin("1.2.3.4/0"), key(0), "whole IPv4 internet"],
    ["/0 of a documentation address", admin("203.0.113.7/0"), key(0), "is refused"],
    ["zero-padded 000.0.0.0/0", admin("000.0.0.0/0"), key(0), "without leading zeros"],
    ["zero-padded prefix 0.0.0.0/00", admin("0.0.0.0/00"), key(0), "without leading zeros"],
    ["expanded IPv6 0:0:0:0:0:0:0:0/0", admin("0:0:0:0:0:0:0:0/0"), key(0), "whole IPv6 internet"],
    ["::0/0", admin("::0/0"), key(0), "whole IPv6 internet"],
    ["0000::/0", admin("0000::/0"), key(0), "IPv6 /32 or narrower"],
    ["fully expanded IPv6 /0", admin("0000:0000:0000:0000:0000:0000:0000:0000/0"), key(0), "whole IPv6 internet"],
    ["two halves covering IPv4 (entry)", admin("0.0.0.0/1", "128.0.0.0/1"), key(1), "IPv4 /8 or narrower"],
    ["two halves covering IPv4 (list)", admin("0.0.0.0/1", "128.0.0.0/1"), LIST, "whole IPv4 internet"],
    ["two halves covering IPv6", admin("::/1", "8000::/1"), LIST, "whole IPv6 internet"],
    ["four quarters", admin("0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"), LIST, "whole IPv4 internet"],
    ["a /4", admin("16.0.0.0/4"), key(0), "IPv4 /8 or narrower"],
    ["a /7", admin("2.0.0.0/7"), key(0), "IPv4 /8 or narrower"],
    ["several /8s together", admin("10.0.0.0/8", "11.0.0.0/8"), LIST, "more than one /8"],
    ["a wide IPv6 /16", admin("2001::/16"), key(0), "IPv6 /32 or narrower"],
    ["an IPv6 /31", admin("2001:db8::/31"), key(0), "IPv6 /32 or narrower"],
    ["octet above 255", admin("256.1.1.1/32"), key(0), "above 255"],
    ["three octets", admin("1.2.3/24"), key(0), "four dot-separated numbers"],
    ["prefix above 32", admin("1.2.3.4/33"), key(0), "above /32"],
    ["prefix above 128", admin("2001:db8::/129"), key(0), "above /128"],
    ["bad hex group", admin("::g/64"), key(0), "hex digits"],
    ["octal-looking octet", admin("010.0.0.1/32"), key(0), "leading zeros"],
    ["two '::'", admin("2001::db8::1/128"), key(0), "only once"],
    ["nine groups", admin("1:2:3:4:5:6:7:8:9/128"), key(0), "8 groups"],
    ["a port instead of a prefix", admin("203.0.113.7:22"), key(0), "not a valid CIDR"],
    ["a host name", admin("office.example.com/32"), key(0), "not a valid CIDR"],
    ["surrounding space", admin(" 203.0.113.7/32"), key(0), "whitespace"],
    ["host bits set", admin("203.0.113.7/24"), key(0), "203.0.113.7/32 for the one host"],
    ["host bits set in IPv6", admin("2001:db8::1/48"), key(0), "2001:db8::/48 for the whole network"],
    ["loopback", admin("127.0.0.1/32"), key(0), "loopback"],
    ["multicast", admin("224.0.0.1/32"), key(0), "multicast"],
    ["reserved 240/4 space", admin("255.255.255.255/32"), key(0), "reserved"],
    ["this-network 0/8", admin("0.0.0.0/8"), key(0), "this network"],
    ["IPv4-mapped IPv6", admin("::ffff:203.0.113.7/128"), key(0), "write the IPv4 range itself"],
    ["IPv6 loopback", admin("::1/128"), key(0), "loopback"],
    ["IPv6 multicast", admin("ff02::1/128"), key(0), "multicast"],
    ["a zone index", admin("fe80::1%eth0/128"), key(0), "zone"],
    ["a number instead of a string", admin(42 as unknown as string), key(0), "CIDR"],
    ["an empty list", admin(), LIST, "at least one admin CIDR"],
  ];
  refuses(cases);

  accepts([
    ["a /32 host", admin("203.0.113.7/32")],
    ["a bare address (one host)", admin("203.0.113.7")],
    ["a documentation /24", admin("203.0.113.0/24")],
    ["a private /8 (a bastion in the VPC)", admin("10.0.0.0/8")],
    ["an IPv6 /48 and an IPv4 /32", admin("2001:db8:1234::/48", "198.51.100.10/32")],
    ["an IPv6 /32 (the floor)", admin("2001:db8::/32")],
    ["several small ranges", admin("198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/24")],
  ]);

  it("stores the canonical form", () => {
    const config = parseConfig(admin("2001:DB8:0:0::/48", "203.0.113.7"), id);
    assert.deepEqual(config.droplet?.adminCidrs, ["2001:db8::/48", "203.0.113.7/32"]);
  });

  it("judges the parsed range, so no spelling of /0 passes", () => {
    for (const text of ["0.0.0.0/0", "1.2.3.4/0", "255.255.255.255/0", "::/0", "::0/0", "0:0::0/0", "ffff::/0", "::ffff:0.0.0.0/0"]) {
      assert.ok(judgeAdminCidrs([text]).problems.length > 0, text);
    }
  });
});
