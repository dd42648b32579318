// Differential test against the installed tcpdump (libpcap's compiler): seeded random
// filter expressions, on Ethernet and on the other supported link types, must give
// byte-identical `-d` listings, or both be rejected with the same message. Skipped
// when tcpdump is not installed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { FilterError, compileFilterExpression, formatListing } from "../../src/cbpf/index.js";

let haveTcpdump = true;
try {
  execFileSync("tcpdump", ["--version"], { stdio: "ignore" });
} catch {
  haveTcpdump = false;
}
const skip = haveTcpdump ? false : "tcpdump is not installed";

let seed = 0x5eed;
const rnd = (n: number): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
  return seed % n;
};
const pick = <T>(a: readonly T[]): T => a[rnd(a.length)]!;

const PRIMS = [
  "tcp", "udp", "ip", "ip6", "arp", "rarp", "icmp", "icmp6", "igmp", "sctp", "esp", "ah", "pim", "vrrp", "stp", "decnet", "ipx", "netbeui", "iso", "atalk", "aarp", "l1", "isis", "clnp",
  "host 10.0.0.1", "src host 1.2.3.4", "dst host 192.168.1.1", "src or dst host 10.1.2.3", "src and dst host 10.1.2.3", "net 10.0.0.0/8", "src net 192.168",
  "dst net 172.16.0.0 mask 255.240.0.0", "net 10", "ip host 1.2.3.4", "arp host 1.2.3.4", "rarp src 5.6.7.8", "port 80", "tcp port 443", "udp dst port 53",
  "sctp src port 9", "port http", "tcp port domain", "portrange 1-1024", "tcp portrange 8000-8100", "udp src portrange 100-50", "udp port ntp",
  "ether host aa:bb:cc:dd:ee:ff", "ether src 00:11:22:33:44:55", "ether dst ff:ff:ff:ff:ff:ff", "ether broadcast", "broadcast", "multicast", "ip multicast",
  "ip6 multicast", "ip broadcast", "less 100", "greater 50", "len > 100", "vlan", "vlan 10", "mpls", "mpls 5", "pppoed", "pppoes", "pppoes 3", "llc", "llc u",
  "ip proto 17", "proto \\udp", "ip6 proto 6", "ether proto \\ip", "ether proto 0x86dd", "ip6 protochain 6", "protochain 6", "host 2001:db8::1",
  "src net 2001:db8::/32", "ip6 src 2001:db8::53", "tcp[13] & 2 != 0", "ip[0] & 0xf > 5", "udp[0:2] = 53", "icmp[icmptype] = icmp-echo",
  "icmp6[icmp6type] = icmp6-echo", "ether[12:2] = 0x800", "decnet host 1.2", "byte 3 = 5", "inbound", "ifindex 2", "ip6 broadcast", "tcp port 99999",
  "geneve", "geneve 10", "geneve and ip", "geneve 7 and ether host 1:2:3:4:5:6",
];
const IDS = ["10.0.0.2", "80", "443", "192.168", "2001:db8::2", "aa:bb:cc:00:11:22", "localhost", "domain", "(1.2.3.4 or 5.6.7.8)", "(80 or 443)", "not 10.0.0.3"];

function arith(d: number): string {
  const r = rnd(d > 2 ? 4 : 9);
  if (r < 2) return String(pick([0, 1, 2, 3, 14, 31, 32, 255, 0x1fff, 65535]));
  if (r === 2) return pick(["len", "ip[0]", "tcp[13]", "udp[2:2]", "ip[9]", "ether[0]", "ip6[6]", "icmp[0]"]);
  if (r === 3) return `${pick(["ip", "tcp", "udp", "ether", "ip6", "icmp", "arp"])}[${arith(d + 1)}${rnd(3) === 0 ? `:${pick([1, 2, 4])}` : ""}]`;
  if (r === 4) return `-${arith(d + 1)}`;
  if (r === 5) return `(${arith(d + 1)})`;
  return `${arith(d + 1)} ${pick(["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"])} ${arith(d + 1)}`;
}
function expr(d: number): string {
  const r = rnd(d > 3 ? 3 : 10);
  if (r <= 1) return pick(PRIMS);
  if (r === 2) return `${arith(0)} ${pick([">", "<", ">=", "<=", "=", "!="])} ${arith(0)}`;
  if (r === 3) return `not ${expr(d + 1)}`;
  if (r === 4) return `(${expr(d + 1)})`;
  if (r === 5) return `${expr(d + 1)} ${pick(["and", "or"])} ${pick(IDS)}`;
  return `${expr(d + 1)} ${pick(["and", "or"])} ${expr(d + 1)}`;
}

function tcpdumpListing(file: string, e: string): string {
  try {
    return execFileSync("tcpdump", ["-r", file, "-d", "--", e], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (x) {
    const line = String((x as { stderr?: string }).stderr ?? "").split("\n").find((l) => l.startsWith("tcpdump: ")) ?? "?";
    return `ERR ${line.replace(/^tcpdump: /, "").replace(/^can't parse filter expression: /, "")}`;
  }
}
function ours(linktype: number, e: string): string {
  try {
    return formatListing(compileFilterExpression(e, { linktype }));
  } catch (x) {
    if (x instanceof FilterError) return `ERR ${x.message}`;
    throw x;
  }
}

test("random expressions: our listings are tcpdump's, on every supported link type", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-filter-"));
  const LINKTYPES = [1, 0, 101, 108, 113, 228, 229, 276];
  let compared = 0;
  for (const linktype of LINKTYPES) {
    // A pcap file header of that link type: tcpdump -r compiles for it.
    const file = join(dir, `lt-${linktype}.pcap`);
    const hdr = Buffer.alloc(24);
    hdr.writeUInt32LE(0xa1b2c3d4, 0);
    hdr.writeUInt16LE(2, 4);
    hdr.writeUInt16LE(4, 6);
    hdr.writeUInt32LE(262144, 16);
    hdr.writeUInt32LE(linktype, 20);
    writeFileSync(file, hdr);
    const n = linktype === 1 ? 150 : 30;
    for (let i = 0; i < n; i++) {
      const e = expr(0);
      assert.equal(ours(linktype, e), tcpdumpListing(file, e), `linktype ${linktype}: ${e}`);
      compared++;
    }
  }
  assert.equal(compared, 150 + 7 * 30);
});
