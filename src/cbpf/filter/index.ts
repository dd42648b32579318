/**
 * The pcap-filter(7) language (`ip and tcp port 8080`) compiled to classic BPF with
 * libpcap 1.10's semantics and code generation: scanner, grammar, code generator and
 * optimiser follow libpcap's, so `tcpdump -r FILE -d EXPR` and
 * `compileFilterExpression(EXPR)` give the same program.
 */
export { compileFilterExpression, parseFilterExpression, type FilterCompileOptions } from "./compile.js";
export { FilterError, type FilterErrorReason } from "./errors.js";
export { tokenize, type Token, type TokenKind } from "./lexer.js";
export type { ExprNode, IdNode, ArithNode } from "./parser.js";
export { lookupService, nameToPort, nameToProto } from "./names.js";
export { LINKTYPE_DESCRIPTION } from "./gencode.js";
