// The verdict of a wire view's check function. Views return it instead of a
// bool so a caller can count why input was dropped.
export enum WireCheck {
  Ok,
  /** Fewer bytes than the header or a length field needs. */
  Truncated,
  /** A version field that is not the protocol's. */
  BadVersion,
  /** Fields that contradict each other (e.g. a header length below the minimum). */
  Malformed,
}
