/**
 * Link-layer header types as stored in capture files (LINKTYPE_* values from
 * https://www.tcpdump.org/linktypes.html; libpcap's pcap/dlt.h gives the DLT_* names).
 * Where LINKTYPE_ and DLT_ differ (RAW is DLT 12/14 on some BSDs but always
 * LINKTYPE 101 in files), the file value is used.
 */

export const LINKTYPE_NULL = 0; // BSD loopback: 4-byte address family in host byte order
export const LINKTYPE_ETHERNET = 1; // DLT_EN10MB
export const LINKTYPE_EN10MB = LINKTYPE_ETHERNET;
export const LINKTYPE_PPP = 9;
export const LINKTYPE_FDDI = 10;
export const LINKTYPE_RAW = 101; // raw IPv4 or IPv6, version nibble tells which
export const LINKTYPE_IEEE802_11 = 105;
export const LINKTYPE_LOOP = 108; // OpenBSD loopback: 4-byte address family in network byte order
export const LINKTYPE_LINUX_SLL = 113; // Linux "cooked" capture v1, 16-byte header
export const LINKTYPE_IEEE802_11_RADIOTAP = 127;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_NETLINK = 253;
export const LINKTYPE_LINUX_SLL2 = 276; // Linux "cooked" capture v2, 20-byte header

const NAMES: ReadonlyMap<number, string> = new Map([
  [LINKTYPE_NULL, "NULL"],
  [LINKTYPE_ETHERNET, "EN10MB"],
  [LINKTYPE_PPP, "PPP"],
  [LINKTYPE_FDDI, "FDDI"],
  [LINKTYPE_RAW, "RAW"],
  [LINKTYPE_IEEE802_11, "IEEE802_11"],
  [LINKTYPE_LOOP, "LOOP"],
  [LINKTYPE_LINUX_SLL, "LINUX_SLL"],
  [LINKTYPE_IEEE802_11_RADIOTAP, "IEEE802_11_RADIO"],
  [LINKTYPE_IPV4, "IPV4"],
  [LINKTYPE_IPV6, "IPV6"],
  [LINKTYPE_NETLINK, "NETLINK"],
  [LINKTYPE_LINUX_SLL2, "LINUX_SLL2"],
]);

/** tcpdump's DLT name for a linktype ("EN10MB", "LINUX_SLL2"), or "LINKTYPE_<n>" when unknown. */
export function linktypeName(linktype: number): string {
  return NAMES.get(linktype) ?? `LINKTYPE_${linktype}`;
}

/** Inverse of linktypeName for the known names (case-insensitive; "ETHERNET" is accepted for EN10MB). */
export function linktypeFromName(name: string): number | undefined {
  const up = name.toUpperCase().replace(/^(LINKTYPE_|DLT_)/, "");
  if (up === "ETHERNET") return LINKTYPE_ETHERNET;
  for (const [v, n] of NAMES) if (n === up) return v;
  return undefined;
}
