/**
 * Classic BPF encoding, with the names of include/uapi/linux/filter.h, bpf_common.h
 * and libpcap's pcap/bpf.h.
 *
 *   struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }     (8 bytes, host byte order)
 *
 *   code, LD/LDX/ST/STX classes:       code, ALU/JMP classes:       code, RET / MISC:
 *   +------+------+-------+            +--------+---+-------+       +-----+---+-------+
 *   | mode | size | class |            | op (4) | s | class |       | op  | r | class |
 *   +------+------+-------+            +--------+---+-------+       +-----+---+-------+
 *    7    5 4    3 2     0              7      4  3  2     0         RET: rval bits 4-3 (K=0, X=8, A=0x10)
 *                                                                   MISC: miscop bits 7-3 (TAX=0, TXA=0x80)
 *
 * The classes share numbers with eBPF only up to BPF_JMP: cBPF 0x06 is BPF_RET (eBPF
 * BPF_JMP32) and 0x07 is BPF_MISC (eBPF BPF_ALU64), which is why this table is separate
 * from src/isa's.
 */

// Classes
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;

// ld/ldx sizes
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;

// ld/ldx modes
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_LEN = 0x80;
export const BPF_MSH = 0xa0;

// alu/jmp operations
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;

export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;

// Operand source
export const BPF_K = 0x00;
export const BPF_X = 0x08;

// ret source (BPF_RVAL); BPF_K and BPF_X as above
export const BPF_A = 0x10;

// misc operations (BPF_MISCOP)
export const BPF_TAX = 0x00;
export const BPF_TXA = 0x80;

/** Scratch memory words M[0..15]. */
export const BPF_MEMWORDS = 16;
/** Longest program the kernel accepts (include/uapi/linux/bpf_common.h). */
export const BPF_MAXINSNS = 4096;

export const BPF_CLASS = (code: number): number => code & 0x07;
export const BPF_SIZE = (code: number): number => code & 0x18;
export const BPF_MODE = (code: number): number => code & 0xe0;
export const BPF_OP = (code: number): number => code & 0xf0;
export const BPF_SRC = (code: number): number => code & 0x08;
export const BPF_RVAL = (code: number): number => code & 0x18;
export const BPF_MISCOP = (code: number): number => code & 0xf8;

/**
 * Linux ancillary-data loads: an absolute load at SKF_AD_OFF + SKF_AD_x reads packet
 * metadata instead of packet bytes (include/uapi/linux/filter.h). k is u32, so
 * SKF_AD_OFF is 0xfffff000 as stored.
 */
export const SKF_AD_OFF = -0x1000;
export const SKF_AD_PROTOCOL = 0;
export const SKF_AD_PKTTYPE = 4;
export const SKF_AD_IFINDEX = 8;
export const SKF_AD_NLATTR = 12;
export const SKF_AD_NLATTR_NEST = 16;
export const SKF_AD_MARK = 20;
export const SKF_AD_QUEUE = 24;
export const SKF_AD_HATYPE = 28;
export const SKF_AD_RXHASH = 32;
export const SKF_AD_CPU = 36;
export const SKF_AD_ALU_XOR_X = 40;
export const SKF_AD_VLAN_TAG = 44;
export const SKF_AD_VLAN_TAG_PRESENT = 48;
export const SKF_AD_PAY_OFFSET = 52;
export const SKF_AD_RANDOM = 56;
export const SKF_AD_VLAN_TPID = 60;
export const SKF_AD_MAX = 64;
/** Loads relative to the network header / the link-layer header (kernel only). */
export const SKF_NET_OFF = -0x100000;
export const SKF_LL_OFF = -0x200000;

/** libpcap's bpf_image names for the ancillary offsets (printed as `ld [proto]` etc.). */
export const SKF_AD_NAMES: Readonly<Record<number, string>> = {
  [SKF_AD_PROTOCOL]: "proto",
  [SKF_AD_PKTTYPE]: "type",
  [SKF_AD_IFINDEX]: "ifidx",
  [SKF_AD_NLATTR]: "nla",
  [SKF_AD_NLATTR_NEST]: "nlan",
  [SKF_AD_MARK]: "mark",
  [SKF_AD_QUEUE]: "queue",
  [SKF_AD_HATYPE]: "hatype",
  [SKF_AD_RXHASH]: "rxhash",
  [SKF_AD_CPU]: "cpu",
  [SKF_AD_ALU_XOR_X]: "xor_x",
  [SKF_AD_VLAN_TAG]: "vlan_tci",
  [SKF_AD_VLAN_TAG_PRESENT]: "vlanp",
  [SKF_AD_PAY_OFFSET]: "poff",
  [SKF_AD_RANDOM]: "random",
  [SKF_AD_VLAN_TPID]: "vlan_tpid",
};

/** BPF_STMT(code, k) of filter.h. */
export const BPF_STMT = (code: number, k: number): SockFilter => ({ code, jt: 0, jf: 0, k: k >>> 0 });
/** BPF_JUMP(code, k, jt, jf) of filter.h. */
export const BPF_JUMP = (code: number, k: number, jt: number, jf: number): SockFilter => ({ code, jt, jf, k: k >>> 0 });

/** One instruction as stored: `struct sock_filter` (libpcap: `struct bpf_insn`). */
export interface SockFilter {
  /** u16 */
  readonly code: number;
  /** u8: true branch, relative to the next instruction. */
  readonly jt: number;
  /** u8: false branch. */
  readonly jf: number;
  /** u32, always stored unsigned here. */
  readonly k: number;
}
