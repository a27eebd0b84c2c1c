// The transport layer's public surface for hosts (docs/security.md).
export type { AeadKey, CryptoProvider, Signer } from "./provider.ts";
export { Identity, IDENTITY_FILE, loadIdentity, nodeIdOf } from "./identity.ts";
export { claimCrypto, type ClaimCrypto } from "./claims.ts";
export { DEFAULT_RELAY_CAP_BYTES_PER_SECOND, DEFAULT_SECURE_CONFIG, type SecureConfig } from "./config.ts";
export { ACTIVITY_COUNTERS, REJECTION_COUNTERS, totalRejections, type CounterName, type SecureCounters } from "./counters.ts";
export { formatKey, formatKeyId, generateKey, Keyring, keyIdOf, parseKey, parseKeyId, type NetworkKey } from "./keyring.ts";
export { DATA_OVERHEAD } from "./handshake.ts";
export { SecureTransport, type AddrKey, type Incoming, type SessionInfo, type TransmitSink } from "./transport.ts";
export { ROUTE_DIRECT, ROUTE_RELAY, type Route } from "./routes.ts";
export { type RelayPair } from "./relay.ts";
export { RELAY, RELAY_HEADER_LEN } from "./envelope.ts";
