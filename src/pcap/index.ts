/**
 * pcap and pcapng reading and writing, platform-neutral: push parsers fed with
 * Uint8Array chunks, writers that emit chunks. The Node file adapter is
 * src/pcap/node.ts (imported separately, so this module runs in browsers too).
 */
export * from "./linktype.js";
export * from "./record.js";
export { type CaptureFormat, type PacketSource } from "./reader-base.js";
export { PcapReader, pcapMagicInfo, PCAP_MAGIC_USEC, PCAP_MAGIC_NSEC, PCAP_MAGIC_MODIFIED, type PcapHeader } from "./pcap-reader.js";
export { PcapngReader, BT_SHB, BT_IDB, BT_PB, BT_SPB, BT_NRB, BT_ISB, BT_EPB, BT_DSB, type SectionInfo } from "./pcapng-reader.js";
export { CaptureReader, sniffFormat, readCapture, iteratePackets, type Capture } from "./capture-reader.js";
export * from "./writer.js";
