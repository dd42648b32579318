/**
 * What the readers hand out: one PacketRecord per packet, and an InterfaceInfo per
 * capture interface (classic pcap has exactly one, described by its file header).
 */

const EMPTY = new Uint8Array(0);

/** A capture interface: the pcap file header, or a pcapng Interface Description Block. */
export interface InterfaceInfo {
  /** LINKTYPE_* value (pcap: the header field without its FCS bits; pcapng: the IDB field). */
  readonly linktype: number;
  /** Snapshot length; 0 in pcapng means "no limit". */
  readonly snaplen: number;
  /**
   * Timestamp resolution as pcapng's if_tsresol byte: 6 = microseconds, 9 = nanoseconds;
   * with the high bit set, a negative power of two (0x80 | n means 2^-n s).
   */
  readonly tsresol: number;
  /** pcapng if_tsoffset: seconds added to every timestamp (0 for pcap). */
  readonly tsoffset: number;
  /** pcapng if_name, when present. */
  readonly name?: string;
  /** Length of the frame check sequence at the end of each packet, in bits, when the file says (pcapng if_fcslen; pcap LT_FCS_LENGTH). */
  readonly fcsBits?: number;
  /** 0-based section number (pcapng: the SHB the interface belongs to). */
  readonly section: number;
}

/**
 * One packet. Readers fill it field by field; `buffer`/`dataOffset`/`caplen` locate the
 * captured bytes without copying them, and `data` makes the view on demand. The bytes
 * stay valid for as long as the record is referenced (they belong to the chunk that was
 * pushed), but a record passed to `nextInto` is overwritten by the next call; use
 * `clone()` to keep one.
 */
export class PacketRecord {
  /** The buffer holding the captured bytes at [dataOffset, dataOffset + caplen). */
  buffer: Uint8Array = EMPTY;
  dataOffset = 0;
  /** Captured length (bytes present in the file). */
  caplen = 0;
  /** Original length on the wire (may be larger than caplen). */
  len = 0;
  /** Timestamp: seconds since the epoch (if_tsoffset included) and nanoseconds in the second. */
  tsSec = 0;
  tsNsec = 0;
  /** Interface number within the section (always 0 for classic pcap). */
  interfaceId = 0;
  /** LINKTYPE_* of the interface. */
  linktype = 0;
  /** 0-based section number (pcapng; 0 for pcap). */
  section = 0;
  /** 0-based packet number in the file. */
  index = 0;
  /** Absolute byte offset of the packet's record header (pcap) or block (pcapng). */
  fileOffset = 0;

  /** The captured bytes, as a view (no copy). */
  get data(): Uint8Array {
    return this.buffer.subarray(this.dataOffset, this.dataOffset + this.caplen);
  }

  /** The timestamp in nanoseconds since the epoch. */
  get timestampNs(): bigint {
    return BigInt(this.tsSec) * 1_000_000_000n + BigInt(this.tsNsec);
  }

  /** A copy that owns its bytes. */
  clone(): PacketRecord {
    const r = new PacketRecord();
    r.buffer = this.data.slice();
    r.dataOffset = 0;
    r.caplen = this.caplen;
    r.len = this.len;
    r.tsSec = this.tsSec;
    r.tsNsec = this.tsNsec;
    r.interfaceId = this.interfaceId;
    r.linktype = this.linktype;
    r.section = this.section;
    r.index = this.index;
    r.fileOffset = this.fileOffset;
    return r;
  }
}

/** What the writers accept: a PacketRecord or any object with these fields. */
export interface PacketLike {
  readonly tsSec: number;
  readonly tsNsec: number;
  /** Captured bytes. */
  readonly data: Uint8Array;
  /** Original length; defaults to data.length. */
  readonly len?: number;
  /** pcapng interface; defaults to 0. */
  readonly interfaceId?: number;
}

/** Reader limits. Lengths above them are treated as corruption, not as huge allocations. */
export interface ReaderOptions {
  /**
   * Largest record / block accepted, in bytes (default 256 MiB). A classic pcap record
   * is also rejected when caplen exceeds both the snaplen and 262144 (libpcap's
   * max_snaplen_for_dlt), as libpcap does.
   */
  readonly maxRecordBytes?: number;
}

export const DEFAULT_MAX_RECORD = 256 * 1024 * 1024;
/** libpcap's MAXIMUM_SNAPLEN (max_snaplen_for_dlt for most link types). */
export const MAXIMUM_SNAPLEN = 262144;
