/** The key the transport files a peer under: a number for IPv4, text for IPv6 (../address.ts keyOfAddress). */
export type AddrKey = number | string;
